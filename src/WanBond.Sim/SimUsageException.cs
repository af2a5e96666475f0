namespace WanBond.Sim;

/// <summary>
/// A bad command-line value or input file. The message is one line naming the flag,
/// file or line and what was expected; the CLI prints it and exits with code 2.
/// </summary>
public sealed class SimUsageException : Exception
{
    public SimUsageException()
    {
    }

    public SimUsageException(string message)
        : base(message)
    {
    }

    public SimUsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
