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
 * {@code aten::mul.Tensor} on 1-element float32 tensors through the boxed dispatcher
 * ({@code torch_call_dispatcher}): raw (two new handles on the stack, the call, deleting the result in
 * slot 0) against the tensor layer's {@code Ops.mul} + {@code close()}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dfullshard.threads=1"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@State(Scope.Thread)
public class DispatcherBenchmark {
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
        opName = arena.allocateFrom("aten::mul");
        overload = arena.allocateFrom("Tensor");
        stack = arena.allocate(JAVA_LONG, 8);
        slot0 = stack.asSlice(0, 8);
        slot1 = stack.asSlice(8, 8);
        a = Raw.tensor(new float[]{3f}, 1);
        b = Raw.tensor(new float[]{5f}, 1);
        ta = Tensor.of(new float[]{3f}, 1);
        tb = Tensor.of(new float[]{5f}, 1);
        call();
        MemorySegment result = MemorySegment.ofAddress(slot0.get(JAVA_LONG, 0));
        float raw = Raw.read(result, 1)[0];
        Raw.delete(result);
        if (raw != 15f) throw new IllegalStateException("raw aten::mul gave " + raw);
        try (Tensor product = Ops.mul(ta, tb)) {
            if (product.toFloatArray()[0] != 15f) throw new IllegalStateException("Ops.mul gave " + product.toFloatArray()[0]);
        }
    }

    /** The dispatcher consumes the handles on its stack, so each slot gets a fresh one. */
    private void call() {
        Raw.check(TorchStable.aoti_torch_new_tensor_handle(a, slot0), "aoti_torch_new_tensor_handle");
        Raw.check(TorchStable.aoti_torch_new_tensor_handle(b, slot1), "aoti_torch_new_tensor_handle");
        Raw.check(TorchStable.torch_call_dispatcher(opName, overload, stack, Raw.SCHEMA_VERSION), "torch_call_dispatcher(aten::mul.Tensor)");
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
    public void rawDispatcherMul() {
        call();
        Raw.deleteAt(slot0);
    }

    @Benchmark
    public void opsMul() {
        Ops.mul(ta, tb).close();
    }
}
