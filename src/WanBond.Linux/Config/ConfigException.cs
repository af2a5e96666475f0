namespace WanBond.Linux.Config;

/// <summary>An invalid configuration file: names the file, the line, the field, and what was expected.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string file, long line, string field, string problem)
        : base(line > 0 ? $"{file}:{line}: {field}: {problem}" : $"{file}: {field}: {problem}")
    {
        File = file;
        Line = line;
        Field = field;
    }

    public ConfigException()
    {
        File = "";
        Field = "";
    }

    public ConfigException(string message)
        : base(message)
    {
        File = "";
        Field = "";
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        File = "";
        Field = "";
    }

    public string File { get; }

    public long Line { get; }

    public string Field { get; }
}
