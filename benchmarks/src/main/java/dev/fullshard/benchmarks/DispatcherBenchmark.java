package dev.fullshard.benchmarks;

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

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;


/**
 * {@code aten::mul.Tensor} on 1-element float32 tensors through the boxed dispatcher
 * ({@code torch_call_dispatcher}): raw (two new handles on the stack, the call, deleting the result in
 * slot 0) against the tensor layer's {@code Elementwise.mul} + {@code close()}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dfullshard.threads=1"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@State(Scope.Thread)
public class DispatcherBenchmark {
    private Raw.DispatcherCall raw;
    private Tensor ta;
    private Tensor tb;

    @Setup
    public void setUp() {
        Raw.load();
        raw = new Raw.DispatcherCall("aten::mul", "Tensor", Raw.tensor(new float[]{3f}, 1), Raw.tensor(new float[]{5f}, 1));
        ta = Tensor.of(new float[]{3f}, 1);
        tb = Tensor.of(new float[]{5f}, 1);
        MemorySegment result = raw.call();
        float unwrapped = Raw.read(result, 1)[0];
        Raw.delete(result);
        if (unwrapped != 15f) throw new IllegalStateException("raw aten::mul gave " + unwrapped);
        try (Tensor product = Elementwise.mul(ta, tb)) {
            if (product.toFloatArray()[0] != 15f) throw new IllegalStateException("Elementwise.mul gave " + product.toFloatArray()[0]);
        }
    }

    @TearDown
    public void tearDown() {
        raw.close();
        ta.close();
        tb.close();
    }

    @Benchmark
    public void rawDispatcherMul() {
        Raw.delete(raw.call());
    }

    @Benchmark
    public void opsMul() {
        Elementwise.mul(ta, tb).close();
    }
}
