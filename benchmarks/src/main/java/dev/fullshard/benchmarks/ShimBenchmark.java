package dev.fullshard.benchmarks;

import dev.fullshard.bindings.TorchStable;
import dev.fullshard.tensor.Elementwise;
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
 * Generated C shim ops ({@code aoti_torch_cpu_*}, {@code aoti_torch_aten_*}) on 1-element float32
 * tensors: one downcall that runs the kernel, then deleting the result. {@code Elementwise.add} is the
 * tensor layer's shim path: it calls {@code aoti_torch_aten_subtract_Tensor(a, b, alpha=-1)}, so
 * {@link #rawShimSubtract} is its raw counterpart.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dfullshard.threads=1"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@State(Scope.Thread)
public class ShimBenchmark {
    private Arena arena;
    private MemorySegment cell;
    private MemorySegment a;
    private MemorySegment b;
    private Tensor ta;
    private Tensor tb;

    @Setup
    public void setUp() {
        Raw.load();
        arena = Arena.ofConfined();
        cell = arena.allocate(JAVA_LONG);
        a = Raw.tensor(new float[]{3f}, 1);
        b = Raw.tensor(new float[]{5f}, 1);
        ta = Tensor.of(new float[]{3f}, 1);
        tb = Tensor.of(new float[]{5f}, 1);
        Raw.check(TorchStable.aoti_torch_cpu_mul_Tensor(a, b, cell), "aoti_torch_cpu_mul_Tensor");
        expect("aoti_torch_cpu_mul_Tensor", 15f);
        Raw.check(TorchStable.aoti_torch_cpu_add_Tensor(a, b, 1.0, cell), "aoti_torch_cpu_add_Tensor");
        expect("aoti_torch_cpu_add_Tensor", 8f);
        Raw.check(TorchStable.aoti_torch_aten_subtract_Tensor(a, b, -1.0, cell), "aoti_torch_aten_subtract_Tensor");
        expect("aoti_torch_aten_subtract_Tensor", 8f);
        try (Tensor sum = Elementwise.add(ta, tb)) {
            if (sum.toFloatArray()[0] != 8f) throw new IllegalStateException("Elementwise.add gave " + sum.toFloatArray()[0]);
        }
    }

    private void expect(String op, float value) {
        MemorySegment result = MemorySegment.ofAddress(cell.get(JAVA_LONG, 0));
        float got = Raw.read(result, 1)[0];
        Raw.delete(result);
        if (got != value) throw new IllegalStateException(op + " gave " + got + ", expected " + value);
    }

    @TearDown
    public void tearDown() {
        Raw.delete(a);
        Raw.delete(b);
        ta.close();
        tb.close();
        arena.close();
    }

    /** {@code aoti_torch_cpu_mul_Tensor(a, b, &out)} and deleting out. */
    @Benchmark
    public void rawShimMul() {
        Raw.check(TorchStable.aoti_torch_cpu_mul_Tensor(a, b, cell), "aoti_torch_cpu_mul_Tensor");
        Raw.deleteAt(cell);
    }

    /** {@code aoti_torch_cpu_add_Tensor(a, b, 1.0, &out)} and deleting out. */
    @Benchmark
    public void rawShimAdd() {
        Raw.check(TorchStable.aoti_torch_cpu_add_Tensor(a, b, 1.0, cell), "aoti_torch_cpu_add_Tensor");
        Raw.deleteAt(cell);
    }

    /** {@code aoti_torch_aten_subtract_Tensor(a, b, -1.0, &out)} and deleting out: what {@code Elementwise.add} calls. */
    @Benchmark
    public void rawShimSubtract() {
        Raw.check(TorchStable.aoti_torch_aten_subtract_Tensor(a, b, -1.0, cell), "aoti_torch_aten_subtract_Tensor");
        Raw.deleteAt(cell);
    }

    /** The tensor layer: {@code Elementwise.add(a, b)} (checks, the shim call, a Tensor object) and {@code close()}. */
    @Benchmark
    public void opsAdd() {
        Elementwise.add(ta, tb).close();
    }
}
