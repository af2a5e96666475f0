namespace WanBond.Core.Reorder;

/// <summary>What <see cref="ReorderBuffer.Insert"/> did with a packet.</summary>
public enum InsertOutcome
{
    /// <summary>Held until its turn (it filled a hole or extends the window).</summary>
    Accepted,

    /// <summary>
    /// An express packet (<see cref="Wire.PacketType.DataExpress"/>, or <see cref="Wire.PacketType.DataExpressOnPath"/>
    /// whose promise the caller checked) that no earlier packet of its flow is held for: queued for release at
    /// once, ahead of the holes in front of it. Its gseq counts as released.
    /// </summary>
    Express,

    /// <summary>Already held, or already released: a second copy (repair or network duplicate), dropped.</summary>
    Duplicate,

    /// <summary>Its gseq was skipped (declared lost or late) or is too old to tell: dropped.</summary>
    TooLate,
}
