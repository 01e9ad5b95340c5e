package dev.fullshard.train;

import dev.fullshard.model.CrossEntropy;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.shard.ShardLayout;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Layers.AttentionKernel;

import java.util.List;

/**
 * The bytes one rank of a training job will hold, computed without running it: the six figures
 * {@link MemoryReport} measures (for its largest rank), derived from the same {@link ShardLayout} the
 * trainer shards with, and two estimates the report does not measure (the working buffers of the busiest
 * moment of a step, and what a GPU needs besides tensors).
 *
 * @param parameters             fp32 master weights of the rank's shard (padding included)
 * @param gradients              fp32 gradients of the shard
 * @param optimizer              AdamW's two fp32 moments of the rank's pieces (no padding), and its step counter
 * @param gatheredPeak           weights all-gathered in the compute dtype, at most alive at once
 * @param unshardedGradientsPeak unsharded gradient buffers in reduce_dtype, at most alive at once
 * @param activations            what the forward keeps for the backward: every block's input, and everything an
 *                               unchecked block saves
 * @param working                estimate: the largest set of temporaries alive at once (the LM head's loss chunk,
 *                               or one block's backward), which the memory report does not measure
 * @param deviceOverhead         estimate: on a GPU, the CUDA context, library workspaces and the caching allocator's
 *                               slack; nothing on the CPU
 */
public record MemoryPlan(long parameters, long gradients, long optimizer, long gatheredPeak, long unshardedGradientsPeak,
                         long activations, long working, long deviceOverhead) {
    /** The GPU's fixed share of {@link #deviceOverhead}: CUDA context, cuBLAS and NCCL workspaces (not measured: an estimate). */
    public static final long CUDA_FIXED_OVERHEAD = 2L << 30;
    /** The GPU's proportional share: the caching allocator's rounding and fragmentation (an estimate). */
    public static final double CUDA_ALLOCATOR_SLACK = 0.05;

    /**
     * What is planned. The train.yaml keys: {@code distributed.*}, {@code mixed_precision} (the compute dtype),
     * {@code training.activation_checkpointing}, {@code training.micro_batch_size}, {@code
     * training.gradient_accumulation_steps}, {@code data.max_seq_len}, {@code device}.
     *
     * @param world          ranks in the job
     * @param shardGroupSize hybrid_shard: the ranks that split the model among themselves (ignored otherwise)
     */
    public record Job(int world, TrainConfig.Sharding sharding, int shardGroupSize, boolean prefetch, DType computeDtype,
                      DType reduceDtype, TrainConfig.GradientSync gradientSync, int gradientAccumulationSteps,
                      boolean activationCheckpointing, int microBatchSize, int seqLen, Device.Type device) {
        public Job {
            if (world < 1) throw new IllegalArgumentException("world size must be at least 1, got " + world);
            if (sharding == TrainConfig.Sharding.HYBRID_SHARD && world > 1 && (shardGroupSize < 1 || world % shardGroupSize != 0)) {
                throw new IllegalArgumentException("hybrid_shard: a shard group of " + shardGroupSize + " ranks does not divide the world of "
                        + world + " ranks");
            }
            if (microBatchSize < 1) throw new IllegalArgumentException("micro-batch size must be at least 1, got " + microBatchSize);
            if (seqLen < 2) throw new IllegalArgumentException("sequence length must be at least 2, got " + seqLen);
            if (gradientAccumulationSteps < 1) throw new IllegalArgumentException("gradient accumulation steps must be at least 1, got " + gradientAccumulationSteps);
        }

        /** The job {@code config} describes, on {@code world} ranks, on {@code device}. */
        public static Job of(TrainConfig config, int world, Device.Type device) {
            TrainConfig.Distributed d = config.distributed();
            TrainConfig.Training t = config.training();
            return new Job(world, d.sharding(), d.shardGroupSize(), d.prefetch(), config.computeDtype(), d.reduceDtype().dtype(), d.gradientSync(),
                    t.gradientAccumulationSteps(), t.activationCheckpointing(), t.microBatchSize(), config.data().maxSeqLen(), device);
        }

        public Job withWorld(int ranks, TrainConfig.Sharding mode) {
            return new Job(ranks, mode, shardGroupSize, prefetch, computeDtype, reduceDtype, gradientSync, gradientAccumulationSteps,
                    activationCheckpointing, microBatchSize, seqLen, device);
        }

        public Job withActivationCheckpointing(boolean on) {
            return new Job(world, sharding, shardGroupSize, prefetch, computeDtype, reduceDtype, gradientSync, gradientAccumulationSteps, on,
                    microBatchSize, seqLen, device);
        }

        public Job withMicroBatchSize(int size) {
            return new Job(world, sharding, shardGroupSize, prefetch, computeDtype, reduceDtype, gradientSync, gradientAccumulationSteps,
                    activationCheckpointing, size, seqLen, device);
        }

        /** How many ranks split the model (1: every rank holds all of it), as the trainer's ShardGroups decide. */
        public int shards() {
            if (world == 1 || sharding == TrainConfig.Sharding.NO_SHARD) return 1;
            return sharding == TrainConfig.Sharding.HYBRID_SHARD ? shardGroupSize : world;
        }

        /** Forward/backward passes the busiest rank runs per step (ShardedModel.passesPerStep). */
        int passesPerStep() {
            return (gradientAccumulationSteps + world - 1) / world;
        }
    }

    /** The six figures the memory report measures, summed. */
    public long reported() {
        return parameters + gradients + optimizer + gatheredPeak + unshardedGradientsPeak + activations;
    }

    /** Everything planned: the reported six, the working buffers and the device overhead. */
    public long total() {
        return reported() + working + deviceOverhead;
    }

    public static MemoryPlan of(ModelConfig model, Job job) {
        ShardLayout layout = ShardLayout.of(model, job.shards());
        boolean replicated = layout.shards() == 1;
        int fp32 = DType.F32.byteSize();
        long shard = layout.shardNumel() * fp32;
        long pieces = layout.pieces(0).stream().mapToLong(ShardLayout.Piece::length).sum();   // rank 0 holds no padding: the most
        long optimizer = 2 * pieces * fp32 + fp32;                                           // exp_avg, exp_avg_sq, and the step counter
        long gathered = replicated ? 0 : gatheredPeak(layout, model, job);
        long unsharded = unshardedGradientsPeak(layout, model, job, replicated);
        long activations = activations(model, job);
        long working = working(model, job, replicated);
        long reported = shard + shard + optimizer + gathered + unsharded + activations;
        long overhead = job.device() == Device.Type.CUDA ? CUDA_FIXED_OVERHEAD + (long) (CUDA_ALLOCATOR_SLACK * (reported + working)) : 0;
        return new MemoryPlan(shard, shard, optimizer, gathered, unsharded, activations, working, overhead);
    }

    /**
     * ShardedModel's gathered buffers: full_shard frees a unit after use, and prefetch gathers the next one
     * while it computes, so two neighbouring units are alive at once (the tied embedding adds itself to the
     * head and the last block); shard_grad_op keeps every unit from its forward to its backward, so at the
     * head all of them are gathered.
     */
    private static long gatheredPeak(ShardLayout layout, ModelConfig model, Job job) {
        long[] unit = unitBytes(layout, job.computeDtype());
        if (job.sharding() == TrainConfig.Sharding.SHARD_GRAD_OP) return sum(unit);
        int head = unit.length - 1;
        if (!job.prefetch()) return Math.max(max(unit), model.tieWordEmbeddings() ? unit[head] + unit[0] : 0);
        return Math.max(maxNeighbours(unit, 0), model.tieWordEmbeddings() ? unit[head] + unit[head - 1] + unit[0] : 0);
    }

    /**
     * ShardedModel's unsharded gradient buffers (none when a replica adds fp32 gradients in place): a unit's
     * buffer lives until the reduction issued after it completes, one unit later, so two neighbours are alive
     * at once; the tied embedding's from the head to the end. The embedding's reduction, the last of a pass, is
     * completed only in the next pass's head, so with several passes per step the embedding's buffer meets the
     * head's (and, tied, the next pass's embedding buffer). A rank that runs several passes per step and reduces
     * only in the last keeps every unit's buffer.
     */
    private static long unshardedGradientsPeak(ShardLayout layout, ModelConfig model, Job job, boolean replicated) {
        if (replicated && job.reduceDtype() == DType.F32) return 0;
        long[] unit = unitBytes(layout, job.reduceDtype());
        int head = unit.length - 1;
        boolean severalPasses = job.passesPerStep() > 1;
        boolean everyPass = !replicated && job.gradientSync() == TrainConfig.GradientSync.EVERY_MICRO_BATCH;
        if (!everyPass && severalPasses) return sum(unit);
        long onePass = model.tieWordEmbeddings() ? unit[0] + maxNeighbours(unit, 1) : maxNeighbours(unit, 0);
        if (!severalPasses) return onePass;
        return Math.max(onePass, model.tieWordEmbeddings() ? 2 * unit[0] + unit[head] : unit[0] + unit[head]);
    }

    /**
     * CausalLm's {@code activationBytes}: the input of every block and of the final norm, plus what each
     * unchecked block keeps (Block.Saved.made()). N = micro-batch × sequence tokens; norms keep one reciprocal
     * RMS per row in the kernels' accumulation type (fp32 below fp64); flash attention keeps a fp32 log-sum-exp
     * per head and token, the math kernel (CUDA in fp32) the (T × T) probabilities per head.
     */
    static long activations(ModelConfig c, Job job) {
        long inputs = (c.numLayers() + 1L) * job.microBatchSize() * job.seqLen() * c.hiddenSize() * job.computeDtype().byteSize();
        return inputs + (job.activationCheckpointing() ? 0 : c.numLayers() * blockSaved(c, job));
    }

    /** What one unchecked block keeps besides its input (Block.Saved.made()). */
    private static long blockSaved(ModelConfig c, Job job) {
        long n = (long) job.microBatchSize() * job.seqLen(), d = c.hiddenSize(), f = c.intermediateSize();
        long q = (long) c.numHeads() * c.headDim(), kv = (long) c.numKeyValueHeads() * c.headDim();
        int e = job.computeDtype().byteSize(), acc = accumulationBytes(job);
        long norms = 2 * n * acc;                                                   // input and post-attention norms
        long qkNorms = c.queryKeyNorm() ? n * (q + kv) * e + n * (c.numHeads() + c.numKeyValueHeads()) * acc : 0;
        long attention = n * (q + 2 * kv + q) * e + attentionSaved(c, job) + n * q * e;  // q, k, v, output; kernel state; o_proj input
        long residualAndMlp = 3 * n * d * e + 2 * n * f * e;                        // norm1 out, h, norm2 out; gate, up
        return norms + qkNorms + attention + residualAndMlp;
    }

    /** Bytes of the kernels' accumulation type: fp32 for every compute dtype below fp64. */
    private static int accumulationBytes(Job job) {
        return job.computeDtype() == DType.F64 ? 8 : 4;
    }

    private static long attentionSaved(ModelConfig c, Job job) {
        long rows = (long) job.microBatchSize() * c.numHeads() * job.seqLen();
        boolean math = AttentionKernel.of(job.device(), job.computeDtype()) == AttentionKernel.MATH;
        return math ? rows * job.seqLen() * job.computeDtype().byteSize() : rows * accumulationBytes(job);
    }

    /**
     * An estimate of the temporaries of the busiest moment, from reading the code, not measured: the LM head's
     * loss chunk (two fp32 (chunk × vocabulary) buffers, the head weight's gradient product, the hidden-state
     * gradients, and the head weight converted from fp32 when replicated), or one block's backward (the block's
     * saved tensors when recomputed, its weights converted when replicated, the largest weight's gradient
     * product, the MLP's gradients).
     */
    private static long working(ModelConfig c, Job job, boolean replicated) {
        long n = (long) job.microBatchSize() * job.seqLen(), d = c.hiddenSize(), f = c.intermediateSize(), v = c.vocabSize();
        int e = job.computeDtype().byteSize();
        boolean converts = replicated && job.computeDtype() != DType.F32;
        long chunk = Math.min(n, job.device() == Device.Type.CUDA ? Trainer.CUDA_LOSS_CHUNK_TOKENS : CrossEntropy.DEFAULT_CHUNK_TOKENS);
        long head = 2 * chunk * v * 4 + v * d * e + 2 * n * d * e + (converts ? v * d * e : 0);
        long recomputed = job.activationCheckpointing() ? blockSaved(c, job) : 0;
        long blockWeights = ShardLayout.of(c, 1).unit(1).numel() * e;
        long block = recomputed + (converts ? blockWeights : 0) + f * d * e + 3 * n * f * e;
        return Math.max(head, block);
    }

    private static long[] unitBytes(ShardLayout layout, DType dtype) {
        List<ShardLayout.Unit> units = layout.units();
        long[] out = new long[units.size()];
        for (ShardLayout.Unit u : units) out[u.index()] = u.paddedNumel(layout.shards()) * dtype.byteSize();
        return out;
    }

    /** The largest sum of two neighbouring units among units {@code from}… */
    private static long maxNeighbours(long[] unit, int from) {
        long best = unit[from];
        for (int u = from + 1; u < unit.length; u++) best = Math.max(best, unit[u - 1] + unit[u]);
        return best;
    }

    private static long max(long[] values) {
        long m = 0;
        for (long x : values) m = Math.max(m, x);
        return m;
    }

    private static long sum(long[] values) {
        long s = 0;
        for (long x : values) s += x;
        return s;
    }
}
