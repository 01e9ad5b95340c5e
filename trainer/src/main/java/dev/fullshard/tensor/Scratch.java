package dev.fullshard.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Per-thread native memory for out-parameters and dispatcher stacks, so that a call allocates
 * nothing. Each use reads its result back before the next call on the same thread.
 */
final class Scratch {
    /** No ATen schema fullshard calls has more arguments or returns than this. */
    static final int STACK_SLOTS = 32;
    private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);

    /** The dispatcher stack: arguments in, returns out. */
    final MemorySegment stack;
    /** One 8-byte out-parameter. */
    final MemorySegment cell;

    private Scratch() {
        // Freed by the GC once the thread and its ThreadLocal are gone.
        Arena arena = Arena.ofAuto();
        stack = arena.allocate(JAVA_LONG, STACK_SLOTS);
        cell = arena.allocate(JAVA_LONG);
    }

    static Scratch get() {
        return LOCAL.get();
    }
}
