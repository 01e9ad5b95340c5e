package dev.fullshard.train;

import dev.fullshard.dist.Communicator;
import dev.fullshard.optim.AdamW;
import dev.fullshard.shard.ShardedModel;
import dev.fullshard.tensor.Cuda;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What each rank holds, in bytes: fp32 master weights, gradients and AdamW moments (its shards),
 * the peak of gathered weights and of unsharded gradient buffers, and the peak of activations kept
 * for backward; on a GPU also the device memory in use (total − free: libtorch's cache, which keeps what the
 * step needed at its peak, plus the CUDA context). Collected from every rank (one all-reduce), printed for
 * the largest rank and written per rank to the metrics as a {@code memory} event.
 */
final class MemoryReport {
    private static final List<String> FIELDS = List.of("parameters", "gradients", "optimizer", "gathered_peak", "unsharded_gradients_peak",
            "activations_peak", "device_used");

    private final Communicator comm;
    private final ShardedModel model;
    private final long optimizerBytes;
    private long activations;

    MemoryReport(Communicator comm, ShardedModel model, AdamW optimizer) {
        this.comm = comm;
        this.model = model;
        long bytes = 0;
        for (Tensor t : optimizer.state().values()) bytes += t.numel() * t.dtype().byteSize();
        this.optimizerBytes = bytes;
    }

    /** Records the activations a step kept at its peak. */
    void activations(long bytes) {
        activations = Math.max(activations, bytes);
    }

    /** Every rank's values, field after field ({@link #FIELDS}); every rank calls this at the same moment. */
    private long[] allRanks() {
        ShardedModel.Memory m = model.memory();
        long deviceUsed = comm.device().type() == Device.Type.CUDA ? Cuda.memory(comm.device()).used() : 0;
        long[] mine = {m.parameterBytes(), m.gradientBytes(), optimizerBytes, m.gatheredPeakBytes(), m.unshardedGradientPeakBytes(), activations,
                deviceUsed};
        long[] all = new long[mine.length * comm.size()];
        System.arraycopy(mine, 0, all, comm.rank() * mine.length, mine.length);
        comm.allReduceSum(all);
        return all;
    }

    /** Each field's largest value over the ranks, by name; every rank calls this at the same moment. */
    Map<String, Long> largest() {
        long[] all = allRanks();
        Map<String, Long> max = new LinkedHashMap<>();
        for (int r = 0; r < comm.size(); r++) {
            for (int f = 0; f < FIELDS.size(); f++) max.merge(FIELDS.get(f), all[r * FIELDS.size() + f], Math::max);
        }
        return max;
    }

    /** Every rank calls this at the same moment; rank 0 writes. */
    void log(String when, MetricsLog metrics, PrintWriter out) {
        long[] all = allRanks();
        int fields = FIELDS.size();
        List<Map<String, Object>> ranks = new ArrayList<>();
        long[] max = new long[fields];
        for (int r = 0; r < comm.size(); r++) {
            Map<String, Object> one = new LinkedHashMap<>();
            for (int f = 0; f < fields; f++) {
                long v = all[r * fields + f];
                one.put(FIELDS.get(f), v);
                max[f] = Math.max(max[f], v);
            }
            ranks.add(one);
        }
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("at", when);
        event.put("ranks", ranks);
        metrics.event("memory", event);
        out.printf(Locale.ROOT, "memory (%s, largest rank): parameters %s, gradients %s, optimizer %s, gathered weights peak %s, "
                        + "unsharded gradients peak %s, activations peak %s%n", when, mib(max[0]), mib(max[1]), mib(max[2]), mib(max[3]),
                mib(max[4]), mib(max[5]));
        if (max[6] > 0) out.printf(Locale.ROOT, "memory (%s, largest rank): %s in use on the GPU%n", when, mib(max[6]));
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
