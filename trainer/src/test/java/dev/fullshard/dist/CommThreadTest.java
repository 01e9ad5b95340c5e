package dev.fullshard.dist;

import dev.fullshard.dist.Communicator.Pending;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The thread MPI runs on, without MPI: order, overlap, failures, the caller's part of an item, stop. */
class CommThreadTest {
    private final CommThread comm = new CommThread("test-comm");

    @AfterEach
    void stop() throws InterruptedException {
        comm.stop();
        comm.thread().join(5_000);
        assertThat(comm.thread().isAlive()).as("the thread ends after stop()").isFalse();
    }

    @Test
    void itemsRunOneAtATimeInSubmissionOrderOnTheOneDaemonThread() {
        List<String> ran = new CopyOnWriteArrayList<>();
        List<Pending> pending = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            int item = i;
            pending.add(comm.submit("item " + i, () -> ran.add(item + " on " + Thread.currentThread().getName())));
        }
        pending.reversed().forEach(Pending::await);
        assertThat(ran).hasSize(50);
        for (int i = 0; i < 50; i++) assertThat(ran.get(i)).isEqualTo(i + " on test-comm");
        assertThat(comm.thread().isDaemon()).isTrue();
        assertThat(comm.thread().isVirtual()).isFalse();
    }

    @Test
    void submittingReturnsWhileTheWorkRunsAndAwaitWaitsForIt() throws InterruptedException {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        boolean[] finished = {false};
        Pending pending = comm.submit("blocked", () -> {
            started.countDown();
            awaitLatch(release);
            finished[0] = true;
        });
        assertThat(started.await(5, TimeUnit.SECONDS)).as("the work runs while the caller goes on").isTrue();
        Thread.ofPlatform().start(() -> {
            sleep(200);
            release.countDown();
        });
        Thread.currentThread().interrupt(); // an interrupt must not make await return before the work is done
        pending.await();
        assertThat(Thread.interrupted()).as("the interrupt is kept for the caller").isTrue();
        assertThat(finished[0]).isTrue();
    }

    @Test
    void aFailureGoesToItsAwaitAndLaterItemsStillRun() {
        Pending failing = comm.submit("allGather", () -> {
            throw new IllegalStateException("MPI_Allgather failed: Invalid count (code 2)");
        });
        boolean[] ranAfter = {false};
        Pending next = comm.submit("barrier", () -> ranAfter[0] = true);
        next.await();
        assertThat(ranAfter[0]).isTrue();
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(failing::await).isInstanceOf(IllegalStateException.class)
                    .hasMessage("allGather failed: MPI_Allgather failed: Invalid count (code 2)")
                    .hasCauseInstanceOf(IllegalStateException.class);
        }
        Error error = new AssertionError("not even an Error ends the thread");
        assertThatThrownBy(comm.submit("broadcast", () -> {
            throw error;
        })::await).hasMessageStartingWith("broadcast failed").hasCause(error);
        comm.submit("after an Error", () -> { }).await();
        assertThat(comm.thread().isAlive()).isTrue();
    }

    @Test
    void theCallersPartRunsOnceOnTheAwaitingThreadAfterSuccessAndTheBuffersAreClosed() {
        Arena buffers = Arena.ofShared();
        List<String> steps = new CopyOnWriteArrayList<>();
        Pending ok = comm.submit("reduceScatterSum", () -> steps.add("work"),
                () -> steps.add("copy back on " + Thread.currentThread().getName()), buffers);
        ok.await();
        ok.await();
        assertThat(steps).containsExactly("work", "copy back on " + Thread.currentThread().getName());
        assertThat(buffers.scope().isAlive()).isFalse();

        Arena failedBuffers = Arena.ofShared();
        Pending failed = comm.submit("allReduceSum", () -> {
            throw new IllegalStateException("boom");
        }, () -> steps.add("copy back after a failure"), failedBuffers);
        assertThatThrownBy(failed::await).hasMessage("allReduceSum failed: boom");
        assertThat(steps).hasSize(2);
        assertThat(failedBuffers.scope().isAlive()).isFalse();
    }

    @Test
    void afterStopTheQueuedItemsRunAndNewOnesAreRefused() throws InterruptedException {
        boolean[] ran = {false};
        Pending queued = comm.submit("last", () -> {
            sleep(100);
            ran[0] = true;
        });
        comm.stop();
        comm.stop();
        queued.await();
        assertThat(ran[0]).isTrue();
        comm.thread().join(5_000);
        assertThat(comm.thread().isAlive()).isFalse();
        Arena buffers = Arena.ofShared();
        assertThatThrownBy(() -> comm.submit("barrier", () -> { }, null, buffers)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("barrier").hasMessageContaining("closed");
        assertThat(buffers.scope().isAlive()).as("the buffers of a refused item are closed").isFalse();
    }

    private static void awaitLatch(CountDownLatch latch) {
        try {
            if (!latch.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("never released");
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
