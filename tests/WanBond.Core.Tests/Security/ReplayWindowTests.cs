using CsCheck;
using WanBond.Core.Security;

namespace WanBond.Core.Tests.Security;

public class ReplayWindowTests
{
    [Fact]
    public void Window_is_at_least_8192()
    {
        Assert.True(new ReplayWindow().Size >= 8192);
        Assert.True(new MultipathReplayWindow(4).WindowSize >= 8192);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MultipathReplayWindow(4, 1024));
    }

    [Fact]
    public void Never_accepts_the_same_counter_twice()
    {
        Gen.ULong[0, 50_000].Array[1, 400].Sample(counters =>
        {
            var window = new ReplayWindow();
            var accepted = new HashSet<ulong>();
            foreach (var c in counters)
            {
                if (window.TryAccept(c))
                {
                    Assert.True(accepted.Add(c), $"{c} accepted twice");
                }
            }
        });
    }

    [Fact]
    public void Accepts_any_permutation_of_distinct_counters_within_the_window()
    {
        var gen = Gen.Select(Gen.ULong[0, 1UL << 47], Gen.Int[1, 600], Gen.Int[0, int.MaxValue]);
        gen.Sample((start, count, seed) =>
        {
            var window = new ReplayWindow();
            var rng = new Random(seed);
            // Distinct counters spanning less than the window, in random order.
            var counters = Enumerable.Range(0, count).Select(_ => start + (ulong)rng.Next(window.Size)).Distinct().ToArray();
            rng.Shuffle(counters);
            foreach (var c in counters)
            {
                Assert.True(window.TryAccept(c), $"{c} rejected (start {start})");
            }

            foreach (var c in counters)
            {
                Assert.False(window.TryAccept(c));
            }
        });
    }

    [Fact]
    public void Rejects_counters_older_than_the_window()
    {
        Gen.Select(Gen.ULong[0, 1UL << 40], Gen.ULong[0, 100_000]).Sample((newest, back) =>
        {
            var window = new ReplayWindow();
            Assert.True(window.TryAccept(newest));
            if (back > newest)
            {
                return;
            }

            ulong old = newest - back;
            bool expected = back > 0 && back < (ulong)window.Size;
            Assert.Equal(expected, window.IsFresh(old));
            Assert.Equal(expected, window.TryAccept(old));
        });
    }

    [Fact]
    public void Is_fresh_changes_nothing()
    {
        var window = new ReplayWindow();
        Assert.True(window.IsFresh(5));
        Assert.True(window.IsFresh(5));
        Assert.True(window.TryAccept(5));
        Assert.False(window.IsFresh(5));
    }

    [Fact]
    public void A_large_jump_forgets_everything_behind_the_window_but_not_within()
    {
        var window = new ReplayWindow();
        for (ulong c = 0; c < 100; c++)
        {
            Assert.True(window.TryAccept(c));
        }

        ulong jump = 1_000_000;
        Assert.True(window.TryAccept(jump));
        Assert.False(window.TryAccept(50)); // far too old
        Assert.True(window.TryAccept(jump - 10)); // never seen, inside the window
        Assert.False(window.TryAccept(jump - 10));
        Assert.True(window.TryAccept(jump - (ulong)window.Size + 1));
        Assert.False(window.TryAccept(jump - (ulong)window.Size));
    }

    [Fact]
    public void Sliding_forward_one_word_at_a_time_never_resurrects_old_bits()
    {
        var window = new ReplayWindow();
        for (ulong c = 0; c < 200_000; c += 3)
        {
            Assert.True(window.TryAccept(c));
            Assert.False(window.TryAccept(c));
            if (c >= 300)
            {
                Assert.False(window.IsFresh(c - 300));
            }
        }
    }

    [Fact]
    public void Reordering_between_paths_never_causes_a_false_replay()
    {
        // Each path's packet numbers arrive in order, but paths interleave arbitrarily and at very different
        // positions in their number spaces (path 2 is millions ahead): every packet must be accepted once.
        var gen = Gen.Select(Gen.Int[0, 7].Array[1, 3000], Gen.ULong[0, 5_000_000].Array[8]);
        gen.Sample((pathSequence, starts) =>
        {
            var window = new MultipathReplayWindow(8);
            var next = (ulong[])starts.Clone();
            foreach (var path in pathSequence)
            {
                ulong nonce = ((ulong)path << 48) | next[path]++;
                Assert.True(window.TryAccept(nonce));
                Assert.False(window.TryAccept(nonce));
            }
        });
    }

    [Fact]
    public void Reordering_within_a_path_up_to_the_window_is_accepted_on_every_path()
    {
        var window = new MultipathReplayWindow(2);
        ulong big = (ulong)window.WindowSize - 1;
        Assert.True(window.TryAccept((1UL << 48) | big));
        Assert.True(window.TryAccept(big));
        Assert.True(window.TryAccept(0)); // path 0, exactly window−1 behind
        Assert.True(window.TryAccept((1UL << 48) | 0));
        Assert.False(window.TryAccept(0));
    }

    [Fact]
    public void Unknown_path_ids_are_rejected()
    {
        var window = new MultipathReplayWindow(3);
        Assert.False(window.IsFresh(3UL << 48));
        Assert.False(window.TryAccept(255UL << 48));
        Assert.True(window.TryAccept(2UL << 48));
    }
}
