package dev.fullshard.benchmarks;

import dev.fullshard.bindings.TorchStable;
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

/** The cost of crossing into libtorch at all: a downcall with no arguments, and one with an out-parameter. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dfullshard.threads=1"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@State(Scope.Thread)
public class DowncallBenchmark {
    private Arena arena;
    private MemorySegment tensor;
    private MemorySegment cell;

    @Setup
    public void setUp() {
        Raw.load();
        arena = Arena.ofConfined();
        cell = arena.allocate(JAVA_LONG);
        tensor = Raw.tensor(new float[]{1f}, 1);
        if (getNumel() != 1) throw new IllegalStateException("aoti_torch_get_numel returned " + getNumel());
    }

    @TearDown
    public void tearDown() {
        Raw.delete(tensor);
        arena.close();
    }

    /** {@code bool aoti_torch_grad_mode_is_enabled()}: nothing in, a bool out; the floor of any call. */
    @Benchmark
    public boolean gradModeIsEnabled() {
        return TorchStable.aoti_torch_grad_mode_is_enabled();
    }

    /** {@code aoti_torch_get_numel(handle, int64_t* out)}: a handle in, a result through native memory. */
    @Benchmark
    public long getNumel() {
        Raw.check(TorchStable.aoti_torch_get_numel(tensor, cell), "aoti_torch_get_numel");
        return cell.get(JAVA_LONG, 0);
    }
}
