namespace WanBond.Core.Reorder;

/// <summary>What <see cref="ReorderBuffer.Insert"/> did with a packet.</summary>
public enum InsertOutcome
{
    /// <summary>Held until its turn (it filled a hole or extends the window).</summary>
    Accepted,

    /// <summary>Already held, or already released: a second copy (repair or network duplicate), dropped.</summary>
    Duplicate,

    /// <summary>Its gseq was skipped (declared lost or late) or is too old to tell: dropped.</summary>
    TooLate,
}
