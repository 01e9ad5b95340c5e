package dev.fullshard.tensor;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Who frees what: scopes, keep, early close, exceptions, wrapped Java memory, and no leaks over 100,000 calls. */
class TensorLifecycleTest {
    private static final long MIB = 1 << 20;

    /** Every test must leave the thread without an open scope; a test that fails midway must not poison the next. */
    @AfterEach
    void noScopeLeftOpen() {
        try (TensorScope probe = TensorScope.open()) {
            Tensor t = Tensor.scalar(1.0);
            assertThat(probe.size()).isEqualTo(1);
            t.close();
        }
    }

    // ================================================================ no leaks

    /** Op calls made by one {@link #iteration}: each call of an op class (Views, Elementwise, ...) counts as one. */
    private static final int OPS_PER_ITERATION = 10;
    private static final int OP_CALLS = 100_000;
    private static final int WARM_UP_OP_CALLS = 30_000;

    /**
     * 100,000 op calls: dispatcher ops (clone, mul, transpose, slice with boxed optional ints, view, unbind
     * returning a Tensor[] list, cat taking one, in-place mul_, sum), a shim op with a double argument (add,
     * through aoti_torch_aten_subtract_Tensor), each iteration in its own scope, one tensor closed by hand before
     * its scope.
     *
     * <p>Bounds. {@code Tensor.liveCount()} must come back exactly: that catches any Java-side handle that is
     * not released. RSS may grow by less than 64 MiB after a warm-up of 30,000 calls. Each iteration starts
     * from a fresh 64×64 float32 copy of its input, and every tensor an op borrows, consumes, views, returns
     * in a list or aliases in place is one of that iteration's fresh tensors of 12 to 16 KiB. A reference leaked
     * anywhere (a dispatcher stack handle not consumed, a view or list item not adopted, the alias an in-place
     * op returns not released) keeps such a storage alive: one leak per iteration holds at least
     * 10,000 × 12 KiB ≈ 117 MiB, about twice the bound, and a leak per op call ten times that. The Java heap's
     * own growth (G1 may touch more of its reserved heap) and allocator noise stay well below 64 MiB.
     */
    @Test
    void hundredThousandOpCallsInScopesLeaveNoTensorsAndBoundedRss() throws IOException {
        try (TensorScope outer = TensorScope.open()) {
            Tensor x = Tensor.randn(1, DType.F32, Device.CPU, 64, 64);
            Tensor y = Tensor.randn(2, DType.F32, Device.CPU, 64, 64);
            Tensor half = Tensor.scalar(0.5f);

            // Warm-up in rounds, each ending in a full GC: G1 hands heap memory back to the OS after a System.gc()
            // (concurrently), and the first of those releases tens of MiB that would otherwise hide a leak.
            double expected = 0;
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < WARM_UP_OP_CALLS / OPS_PER_ITERATION / 3; i++) expected = iteration(x, y, half);
                System.gc();
            }
            long liveBefore = Tensor.liveCount();
            int scopeSizeBefore = outer.size();
            long rssBefore = rssBytes();

            double last = 0;
            for (int i = 0; i < OP_CALLS / OPS_PER_ITERATION; i++) last = iteration(x, y, half);

            System.gc();
            long liveAfter = Tensor.liveCount();
            long rssAfter = rssBytes();
            System.out.printf("TensorLifecycleTest: %d op calls: live tensors %d -> %d, RSS %.1f -> %.1f MiB (%+.1f MiB)%n",
                    OP_CALLS, liveBefore, liveAfter, rssBefore / (double) MIB, rssAfter / (double) MIB,
                    (rssAfter - rssBefore) / (double) MIB);

            assertThat(last).as("same inputs, same result every iteration").isEqualTo(expected);
            assertThat(liveAfter).as("Tensor.liveCount() after %d op calls", OP_CALLS).isEqualTo(liveBefore);
            assertThat(outer.size()).as("tensors owned by the enclosing scope").isEqualTo(scopeSizeBefore);
            assertThat(rssAfter - rssBefore).as("RSS growth in bytes over %d op calls", OP_CALLS).isLessThan(64 * MIB);
        }
    }

    /** One iteration: {@link #OPS_PER_ITERATION} op calls in their own scope; returns a value to check. */
    private static double iteration(Tensor x, Tensor y, Tensor half) {
        try (TensorScope ignored = TensorScope.open()) {
            Tensor a = Copies.clone(x);                          //  1 fresh 16 KiB input for this iteration
            Tensor m = Elementwise.mul(a, y);                         //  2 dispatcher
            Tensor s = Elementwise.add(m, a);                         //  3 shim (subtract with alpha -1)
            m.close();                                        //    closed before its scope
            Tensor t = Views.transpose(s, 0, 1);                //  4 view
            Tensor rows = Views.slice(t, 0, 0, 64, 2);          //  5 view, boxed optional ints
            Tensor blocks = a.view(4, 16, 64);                //  6 view
            Tensor[] parts = Views.unbind(blocks, 0);           //  7 Tensor[] returned as a list
            Tensor c = Copies.cat(0, parts[1], rows);            //  8 Tensor[] argument
            InPlace.mulInPlace(c, half);                          //  9 in place: the returned alias is released
            return Reductions.sum(c).item();                         // 10 reduction to 0-dim (item() copies it out)
        }
    }

    // ================================================================ scopes

    @Test
    void nestedScopesCloseOnlyTheirOwnTensors() {
        long before = Tensor.liveCount();
        try (TensorScope outer = TensorScope.open()) {
            Tensor a = Tensor.zeros(DType.F32, Device.CPU, 2, 2);
            Tensor b;
            try (TensorScope inner = TensorScope.open()) {
                b = Elementwise.add(a, a);
                Tensor view = b.view(4);
                assertThat(inner.size()).isEqualTo(2);
                assertThat(outer.size()).isEqualTo(1);
                assertThat(view.isClosed()).isFalse();
            }
            assertThat(b.isClosed()).as("made in the inner scope").isTrue();
            assertThat(a.isClosed()).as("made in the outer scope").isFalse();
            assertThat(Tensor.liveCount()).isEqualTo(before + 1);
        }
        assertThat(Tensor.liveCount()).isEqualTo(before);
    }

    @Test
    void keepMovesATensorToTheEnclosingScope() {
        long before = Tensor.liveCount();
        Tensor kept;
        try (TensorScope outer = TensorScope.open()) {
            try (TensorScope inner = TensorScope.open()) {
                Tensor tmp = Tensor.full(3.0, DType.F32, Device.CPU, 3);
                kept = inner.keep(Elementwise.mul(tmp, tmp));
                assertThat(inner.size()).isEqualTo(1);
                assertThat(outer.size()).isEqualTo(1);
            }
            assertThat(kept.isClosed()).isFalse();
            assertThat(kept.toFloatArray()).containsExactly(9f, 9f, 9f);
        }
        assertThat(kept.isClosed()).as("closed by the scope it was handed to").isTrue();
        assertThat(Tensor.liveCount()).isEqualTo(before);
    }

    @Test
    void keepWithoutAnEnclosingScopeHandsTheTensorToTheCaller() {
        long before = Tensor.liveCount();
        Tensor result;
        try (TensorScope scope = TensorScope.open()) {
            result = scope.keep(Tensor.full(2.0, DType.F64, Device.CPU, 2));
        }
        assertThat(result.isClosed()).isFalse();
        assertThat(Tensor.liveCount()).isEqualTo(before + 1);
        result.close();
        assertThat(Tensor.liveCount()).isEqualTo(before);
    }

    @Test
    void keepRejectsTensorsOfOtherScopesAndClosedScopes() {
        try (TensorScope outer = TensorScope.open()) {
            Tensor foreign = Tensor.scalar(1.0);
            TensorScope inner = TensorScope.open();
            try {
                assertThatThrownBy(() -> inner.keep(foreign)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("does not belong to this scope");
            } finally {
                inner.close();
            }
            assertThatThrownBy(() -> inner.keep(foreign)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
            assertThat(foreign.isClosed()).isFalse();
            assertThat(outer.size()).isEqualTo(1);
        }
    }

    @Test
    void aTensorClosedBeforeItsScopeIsReleasedOnce() {
        long before = Tensor.liveCount();
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.zeros(DType.F32, Device.CPU, 8);
            Tensor b = Elementwise.add(a, a);
            a.close();
            a.close(); // a second close is a no-op
            assertThat(a.isClosed()).isTrue();
            assertThat(scope.size()).isEqualTo(1);
            assertThat(Tensor.liveCount()).isEqualTo(before + 1);
            assertThat(b.toFloatArray()).hasSize(8);
        }
        assertThat(Tensor.liveCount()).isEqualTo(before);
    }

    @Test
    void closingTensorsByHandInALongLoopKeepsTheScopeSmall() {
        long before = Tensor.liveCount();
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.zeros(DType.F32, Device.CPU, 4);
            for (int i = 0; i < 10_000; i++) Elementwise.add(a, a).close();
            assertThat(scope.size()).isEqualTo(1);
            assertThat(Tensor.liveCount()).isEqualTo(before + 1);
        }
        assertThat(Tensor.liveCount()).isEqualTo(before);
    }

    @Test
    void anExceptionInsideAScopeStillFreesItsTensors() {
        long before = Tensor.liveCount();
        List<Tensor> made = new ArrayList<>();
        assertThatThrownBy(() -> {
            try (TensorScope ignored = TensorScope.open()) {
                made.add(Tensor.zeros(DType.F32, Device.CPU, 2, 3));
                made.add(Views.transpose(made.get(0), 0, 1));
                throw new IllegalStateException("boom");
            }
        }).isInstanceOf(IllegalStateException.class).hasMessage("boom");
        assertThat(made).hasSize(2).allMatch(Tensor::isClosed);

        // the same when libtorch itself fails inside the scope
        assertThatThrownBy(() -> {
            try (TensorScope ignored = TensorScope.open()) {
                made.add(Tensor.zeros(DType.F32, Device.CPU, 2, 3));
                made.add(Tensor.zeros(DType.F32, Device.CPU, 2, 4));
                Copies.cat(0, made.get(2), made.get(3));
            }
        }).isInstanceOf(TorchException.class);
        assertThat(made).hasSize(4).allMatch(Tensor::isClosed);
        assertThat(Tensor.liveCount()).isEqualTo(before);
    }

    @Test
    void closingScopesOutOfOrderThrowsAndFreesNothing() {
        long before = Tensor.liveCount();
        TensorScope outer = TensorScope.open();
        TensorScope inner = TensorScope.open();
        try {
            Tensor a = Tensor.zeros(DType.F32, Device.CPU, 2);
            assertThatThrownBy(outer::close).isInstanceOf(IllegalStateException.class).hasMessageContaining("innermost first");
            assertThat(a.isClosed()).isFalse();
            assertThat(a.toFloatArray()).containsExactly(0f, 0f);
        } finally {
            inner.close();
            outer.close();
        }
        assertThat(Tensor.liveCount()).isEqualTo(before);
    }

    @Test
    void closingAScopeOnAnotherThreadThrows() throws InterruptedException {
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.zeros(DType.F32, Device.CPU, 2);
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread other = Thread.ofPlatform().start(() -> {
                try {
                    scope.close();
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            other.join();
            assertThat(thrown.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("thread that opened it");
            assertThat(a.isClosed()).isFalse();
        }
    }

    // ================================================================ Tensor.wrap

    @Test
    void aWrappedTensorAndItsViewsThrowOnceTheArenaIsClosed() {
        long before = Tensor.liveCount();
        try (TensorScope ignored = TensorScope.open()) {
            Tensor wrapped, transposed, sliced, reshaped, unbound, computed;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment data = arena.allocate(JAVA_FLOAT, 6);
                for (int i = 0; i < 6; i++) data.setAtIndex(JAVA_FLOAT, i, i);
                wrapped = Tensor.wrap(data, DType.F32, 2, 3);
                transposed = wrapped.transpose(0, 1);
                sliced = Views.slice(transposed, 0, 1, 3, 1);  // a view of a view
                reshaped = wrapped.reshape(3, 2);
                unbound = Views.unbind(wrapped, 0)[1];
                computed = Elementwise.mul(wrapped, wrapped);          // a new tensor, not a view

                data.setAtIndex(JAVA_FLOAT, 0, 10f);           // zero-copy: Java writes are visible
                assertThat(wrapped.toFloatArray()).containsExactly(10f, 1f, 2f, 3f, 4f, 5f);
                assertThat(sliced.toFloatArray()).containsExactly(1f, 4f, 2f, 5f);
                assertThat(unbound.toFloatArray()).containsExactly(3f, 4f, 5f);
            }

            Map<String, Tensor> afterClose = new LinkedHashMap<>();
            afterClose.put("wrapped", wrapped);
            afterClose.put("transpose view", transposed);
            afterClose.put("slice of a view", sliced);
            afterClose.put("reshape view", reshaped);
            afterClose.put("unbind view", unbound);
            afterClose.forEach((name, t) -> {
                assertThatThrownBy(t::toFloatArray).as(name + ": read")
                        .isInstanceOf(IllegalStateException.class).hasMessageContaining("arena is closed");
                assertThatThrownBy(() -> Elementwise.mul(t, t)).as(name + ": dispatcher op").isInstanceOf(IllegalStateException.class);
                assertThatThrownBy(() -> Elementwise.add(t, t)).as(name + ": shim op").isInstanceOf(IllegalStateException.class);
                assertThatThrownBy(() -> Reductions.sum(t)).as(name + ": reduction").isInstanceOf(IllegalStateException.class);
                assertThatThrownBy(() -> t.view(-1)).as(name + ": new view").isInstanceOf(IllegalStateException.class);
            });
            assertThat(computed.toFloatArray()).as("a result computed before the arena closed owns its memory")
                    .containsExactly(0f, 1f, 4f, 9f, 16f, 25f);
        }
        assertThat(Tensor.liveCount()).as("handles of wrapped tensors are still released").isEqualTo(before);
    }

    @Test
    void wrapRejectsHeapMemoryAndTooSmallSegments() {
        assertThatThrownBy(() -> Tensor.wrap(MemorySegment.ofArray(new float[6]), DType.F32, 2, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("native memory");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment small = arena.allocate(JAVA_FLOAT, 5);
            assertThatThrownBy(() -> Tensor.wrap(small, DType.F32, 2, 3))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("too small");
        }
    }

    // ================================================================ measuring

    /** Resident set size of this process, from /proc/self/status. */
    private static long rssBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
