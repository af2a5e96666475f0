// The namespace tests share two cores with the emulator's real-time threads: run them one at a time,
// so the accuracy test is never measured while a benchmark saturates the machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
