using Polymur.Gateway.Ingest;
using Polymur.Gateway.Tests.Support;

namespace Polymur.Gateway.Tests.Ingest;

/// <summary>The decode slots' wait has a deadline (issue 23, F5: it had none, and a request could wait forever).</summary>
public class DecodeSlotsTests
{
    [Test]
    public async Task With_every_slot_held_a_wait_gives_up_at_its_deadline_and_a_freed_slot_is_taken()
    {
        var slots = new DecodeSlots(1);
        await Assert.That(await slots.EnterAsync(TimeSpan.Zero, CancellationToken.None)).IsTrue();

        var waiting = slots.EnterAsync(TimeSpan.FromMilliseconds(100), CancellationToken.None).AsTask();
        // Generous: what matters is that it ends on its own, with no slot.
        await Assert.That(await Poll.FinishesAsync(waiting, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(await waiting).IsFalse();

        var next = slots.EnterAsync(TimeSpan.FromSeconds(30), CancellationToken.None).AsTask();
        slots.Exit();
        await Assert.That(await Poll.FinishesAsync(next, TimeSpan.FromSeconds(30))).IsTrue();
        await Assert.That(await next).IsTrue();
    }
}
