package dev.fullshard.benchmarks;

import dev.fullshard.bindings.TorchStable;
import dev.fullshard.tensor.Ops;
import dev.fullshard.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A 1024×1024 float32 {@code aten::mm} on 2 threads, where the kernel dominates: {@code Ops.mm} +
 * {@code close()} against the same {@code torch_call_dispatcher} call made raw. Both multiply the
 * same values.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dfullshard.threads=2"})
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 8, time = 3)
@State(Scope.Thread)
public class MatmulBenchmark {
    private static final int N = 1024;

    private Arena arena;
    private MemorySegment opName;
    private MemorySegment overload;
    private MemorySegment stack;
    private MemorySegment slot0;
    private MemorySegment slot1;
    private MemorySegment a;
    private MemorySegment b;
    private Tensor ta;
    private Tensor tb;

    @Setup
    public void setUp() {
        Raw.load();
        arena = Arena.ofConfined();
        opName = arena.allocateFrom("aten::mm");
        overload = arena.allocateFrom("");
        stack = arena.allocate(JAVA_LONG, 8);
        slot0 = stack.asSlice(0, 8);
        slot1 = stack.asSlice(8, 8);
        float[] x = Raw.gaussian(1, N * N);
        float[] y = Raw.gaussian(2, N * N);
        a = Raw.tensor(x, N, N);
        b = Raw.tensor(y, N, N);
        ta = Tensor.of(x, N, N);
        tb = Tensor.of(y, N, N);
        call();
        MemorySegment result = MemorySegment.ofAddress(slot0.get(JAVA_LONG, 0));
        float[] raw = Raw.read(result, N * N);
        Raw.delete(result);
        float[] wrapped;
        try (Tensor product = Ops.mm(ta, tb)) {
            wrapped = product.toFloatArray();
        }
        double expected = 0;
        for (int k = 0; k < N; k++) expected += (double) x[k] * y[k * N]; // element (0, 0)
        for (float[] got : new float[][]{raw, wrapped}) {
            if (Math.abs(got[0] - expected) > 1e-3 * N) throw new IllegalStateException("mm[0,0] = " + got[0] + ", expected " + expected);
        }
    }

    private void call() {
        Raw.check(TorchStable.aoti_torch_new_tensor_handle(a, slot0), "aoti_torch_new_tensor_handle");
        Raw.check(TorchStable.aoti_torch_new_tensor_handle(b, slot1), "aoti_torch_new_tensor_handle");
        Raw.check(TorchStable.torch_call_dispatcher(opName, overload, stack, Raw.SCHEMA_VERSION), "torch_call_dispatcher(aten::mm)");
    }

    @TearDown
    public void tearDown() {
        Raw.delete(a);
        Raw.delete(b);
        ta.close();
        tb.close();
        arena.close();
    }

    @Benchmark
    public void rawDispatcherMm() {
        call();
        Raw.deleteAt(slot0);
    }

    @Benchmark
    public void opsMm() {
        Ops.mm(ta, tb).close();
    }
}
