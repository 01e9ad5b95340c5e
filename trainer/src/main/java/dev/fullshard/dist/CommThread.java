package dev.fullshard.dist;

import java.lang.foreign.Arena;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * One daemon platform thread that runs submitted work one item at a time, in the order it was
 * submitted, and hands each item's outcome to its {@link Communicator.Pending}. {@link MpiCommunicator}
 * makes every MPI call of the process on it.
 *
 * <p>A failing item does not end the thread: the failure is kept for that item's {@code await()} and
 * the next item runs as usual. {@link #stop()} ends the thread after the items already submitted.
 */
final class CommThread {
    /** Queued by {@link #stop()}: the thread ends when it reaches it. */
    private static final Runnable END = () -> { };

    private final Thread thread;
    private final BlockingQueue<Runnable> queue = new LinkedBlockingQueue<>();
    private boolean stopped;

    CommThread(String name) {
        thread = Thread.ofPlatform().name(name).daemon().start(this::runQueue);
    }

    private void runQueue() {
        while (true) {
            Runnable next;
            try {
                next = queue.take();
            } catch (InterruptedException e) {
                continue; // nobody but stop() may end this thread: queued work would never complete
            }
            if (next == END) return;
            next.run(); // a FutureTask: it keeps any Throwable for await()
        }
    }

    /** Queues {@code work}; {@code collective} names it in failures. */
    Communicator.Pending submit(String collective, Runnable work) {
        return submit(collective, work, null, null);
    }

    /**
     * Queues {@code work}. Once it has run, the first {@code await()} runs {@code thenOnCaller} (when not
     * null and the work succeeded) on the awaiting thread, which is where tensor work belongs (a
     * {@code TensorScope} is per thread), and then closes {@code buffers} (when not null) whatever happened.
     */
    synchronized Communicator.Pending submit(String collective, Runnable work, Runnable thenOnCaller, Arena buffers) {
        if (stopped) {
            if (buffers != null) buffers.close();
            throw new IllegalStateException(collective + ": the communicator is closed (its thread " + thread.getName() + " has ended)");
        }
        Item item = new Item(collective, new FutureTask<>(work, null), thenOnCaller, buffers);
        queue.add(item.task);
        return item;
    }

    /** Ends the thread once the work already submitted has run; later submissions throw. Idempotent. */
    synchronized void stop() {
        if (stopped) return;
        stopped = true;
        queue.add(END);
    }

    /** The thread, for tests. */
    Thread thread() {
        return thread;
    }

    /** One item of work in flight. */
    private static final class Item implements Communicator.Pending {
        private final String collective;
        private final FutureTask<Void> task;
        private Runnable thenOnCaller;
        private Arena buffers;
        private boolean awaited;
        private RuntimeException failure;

        private Item(String collective, FutureTask<Void> task, Runnable thenOnCaller, Arena buffers) {
            this.collective = collective;
            this.task = task;
            this.thenOnCaller = thenOnCaller;
            this.buffers = buffers;
        }

        @Override
        public synchronized void await() {
            if (!awaited) {
                awaited = true;
                failure = finish();
            }
            if (failure != null) throw failure;
        }

        private RuntimeException finish() {
            try {
                Throwable cause = outcome(task);
                if (cause != null) return new IllegalStateException(collective + " failed: " + cause.getMessage(), cause);
                if (thenOnCaller != null) thenOnCaller.run();
                return null;
            } catch (RuntimeException e) {
                return e;
            } finally {
                if (buffers != null) buffers.close();
                thenOnCaller = null;
                buffers = null;
            }
        }

        /**
         * Waits for {@code task} and returns its failure, or null. Uninterruptibly: until the work has run,
         * native code may be using the caller's buffers, so returning early would let the caller free or
         * change them under it. The interrupt is kept for the caller.
         */
        private static Throwable outcome(FutureTask<Void> task) {
            boolean interrupted = false;
            try {
                while (true) {
                    try {
                        task.get();
                        return null;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    } catch (ExecutionException e) {
                        return e.getCause();
                    }
                }
            } finally {
                if (interrupted) Thread.currentThread().interrupt();
            }
        }
    }
}
