using Pdnn.Evaluation;
using Pdnn.Tests;

namespace Pdnn.Evaluation.Tests;

[TestClass]
public sealed class OutcomeJournalTests
{
    static JournalUnit Unit(string job, int batch, params long[] predictions) =>
        new(job, batch, predictions.Select((p, i) => new OutcomeLine(batch * 10 + i, 3, p, 0.1 + i / 3.0, Math.PI * i, i)).ToList(), 1.5);

    [TestMethod]
    public void AUnitCutOffByAKillIsDroppedAndTheRestReadBackExactly()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "journal", "attacks.csv");
        using (var journal = OutcomeJournal.Open(path, "k1", resume: false))
        {
            journal.Append(Unit("clean", 0, 3, 3));
            journal.Append(Unit("FGSM", 0, 1, 3));
        }
        long whole = new FileInfo(path).Length;
        File.AppendAllText(path, "unit\tFGSM\t1\n10,3,2,0.1,0"); // killed while writing the next unit

        using (var resumed = OutcomeJournal.Open(path, "k1", resume: true))
        {
            Assert.AreEqual(whole, new FileInfo(path).Length, "the cut-off block is cut away");
            Assert.IsTrue(resumed.TryGet("FGSM", 0, out var fgsm));
            CollectionAssert.AreEqual(Unit("FGSM", 0, 1, 3).Lines.ToArray(), fgsm.Lines.ToArray(), "doubles round-trip exactly");
            Assert.IsFalse(resumed.TryGet("FGSM", 1, out _));
            resumed.Append(Unit("FGSM", 1, 2));
        }
        var (key, units, _) = OutcomeJournal.Read(path);
        Assert.AreEqual("k1", key);
        Assert.HasCount(3, units);
    }

    [TestMethod]
    public void ResumingWithAnotherKeyIsRefusedAndAFreshJournalReplacesTheOld()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "attacks.csv");
        using (var journal = OutcomeJournal.Open(path, "k1", resume: false)) journal.Append(Unit("clean", 0, 1));
        var error = Assert.ThrowsExactly<InvalidDataException>(() => OutcomeJournal.Open(path, "k2", resume: true));
        StringAssert.Contains(error.Message, path);
        using (var fresh = OutcomeJournal.Open(path, "k2", resume: false)) Assert.IsEmpty(fresh.Units);
        Assert.IsEmpty(OutcomeJournal.Read(path).Units);
    }

    [TestMethod]
    public void ASecondWriterOfTheSameJournalIsRefusedAndTheFirstWritesOn()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "journal", "attacks.csv");
        using (var first = OutcomeJournal.Open(path, "k1", resume: false))
        {
            first.Append(Unit("clean", 0, 3));
            var error = Assert.ThrowsExactly<InvalidOperationException>(() => OutcomeJournal.Open(path, "k1", resume: false));
            StringAssert.Contains(error.Message, path);
            Assert.ThrowsExactly<InvalidOperationException>(() => OutcomeJournal.Open(path, "k1", resume: true));
            first.Append(Unit("FGSM", 0, 1));
        }
        Assert.HasCount(2, OutcomeJournal.Read(path).Units, "the refused writers neither truncated nor appended");
        using (var resumed = OutcomeJournal.Open(path, "k1", resume: true)) Assert.HasCount(2, resumed.Units);
    }

    [TestMethod]
    public void EachSittingThatAddsUnitsNamesItsHardwareAndOneThatAddsNoneLeavesNoTrace()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "journal", "attacks.csv");
        using (var gpu = OutcomeJournal.Open(path, "k1", resume: false, sitting: "gpu box")) gpu.Append(Unit("clean", 0, 3));
        using (OutcomeJournal.Open(path, "k1", resume: true, sitting: "idle box")) { } // resumed with nothing left to do
        using (var cpu = OutcomeJournal.Open(path, "k1", resume: true, sitting: "cpu box"))
        {
            cpu.Append(Unit("FGSM", 0, 1));
            cpu.Append(Unit("FGSM", 1, 2));
        }
        var (_, units, sittings) = OutcomeJournal.Read(path);
        Assert.HasCount(3, units);
        CollectionAssert.AreEqual(new[] { "gpu box", "cpu box" }, sittings.ToArray(), "one line per sitting, before its first unit");

        File.AppendAllText(path, "sitting\tkilled box\nunit\tFGSM\t2\n20,3"); // killed before its first unit was whole
        CollectionAssert.AreEqual(new[] { "gpu box", "cpu box" }, OutcomeJournal.Read(path).Sittings.ToArray(), "a sitting with no whole unit computed nothing");
    }

    [TestMethod]
    public void AJournalWrittenBeforeSittingsWereRecordedSaysSo()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "attacks.csv");
        using (var journal = OutcomeJournal.Open(path, "k1", resume: false)) journal.Append(Unit("clean", 0, 3));
        CollectionAssert.AreEqual(new[] { OutcomeJournal.UnrecordedSitting }, OutcomeJournal.Read(path).Sittings.ToArray());
    }
}
