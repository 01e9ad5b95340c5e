package dev.fullshard.shard;

import dev.fullshard.dist.Communicator;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelUnits;
import dev.fullshard.model.WeightAccess;
import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.InPlace;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * FSDP over a {@link Communicator}: this rank's shard of every unit's fp32 master weights and
 * gradients ({@link ShardLayout}), and the {@link WeightAccess} the model runs on.
 *
 * <p><b>Weights.</b> Before a unit computes, its master shard is converted to the compute dtype and
 * all-gathered into a flat buffer the unit's parameters are views of; the buffer is freed when the
 * unit is released ({@code full_shard}), or, for a forward, kept until the unit's backward is done
 * ({@code shard_grad_op}). With prefetch on, acquiring a unit starts the all-gather of the unit the pass
 * reaches next (the next one in forward order, the previous one in backward) while the current unit
 * computes, so at most two units are gathered at a time (three while the head uses the tied embedding).
 *
 * <p><b>Gradients.</b> A unit's backward adds into an unsharded flat buffer (in {@code reduceDtype});
 * when the unit is done, the buffer is reduce-scattered (summed over ranks) and the result added to
 * this rank's fp32 gradient shard. The reduction runs while the next unit computes; it is completed
 * before the following one is issued, so at most one unit's reduction is in flight. With
 * {@code syncEveryMicroBatch} off, the unsharded buffers are kept over a step's micro-batches and
 * reduced once, in the last.
 *
 * <p><b>Groups</b> ({@link ShardGroups}). The model is split over the ranks of {@code groups.shards()}: the
 * gathers and reduce-scatters above run there. Under hybrid_shard each shard has replicas in the other groups,
 * and a reduce-scattered shard is then summed over them too (an all-reduce, issued when the reduce-scatter is
 * complete and completed one unit later), so every replica holds the same gradient and, after AdamW, the same
 * weights: one unit per stage in flight.
 *
 * <p><b>Replicated</b> ({@code no_shard}, or one rank): every rank holds the whole model; acquire
 * returns the fp32 master weights themselves (the model converts block by block), gradients accumulate
 * in the fp32 gradient buffers and are all-reduced in the last micro-batch of a step: data parallelism.
 *
 * <p>Ownership: master and gradient shards belong to the {@code TensorScope} open at construction;
 * gathered weights and unsharded gradients belong to this object ({@link TensorScope#detach}) and are
 * freed as soon as they are used, or by {@link #close}.
 */
public final class ShardedModel implements WeightAccess, AutoCloseable {
    /**
     * @param shard               split the model over the ranks (full_shard, shard_grad_op); false replicates it (no_shard)
     * @param reshardAfterForward free gathered weights after a unit's forward (full_shard) rather than after its backward
     * @param prefetch            gather the next unit while the current one computes
     * @param computeDtype        dtype of the gathered weights
     * @param reduceDtype         dtype of the unsharded gradients and of their reduction
     * @param syncEveryMicroBatch reduce-scatter each micro-batch's gradients, else only the last micro-batch's (the sum)
     * @param device              where every buffer lives (the communicator's device)
     */
    public record Options(boolean shard, boolean reshardAfterForward, boolean prefetch, DType computeDtype, DType reduceDtype,
                          boolean syncEveryMicroBatch, Device device) {
    }

    /** Bytes this rank holds, for the memory report; peaks over the whole run. */
    public record Memory(long parameterBytes, long gradientBytes, long gatheredPeakBytes, long unshardedGradientPeakBytes) {
    }

    /**
     * A unit's gathered weights or unsharded gradients: the flat buffer, the parameters' views of it, the
     * collective in flight on it, and the shard that collective reads or writes.
     */
    private static final class Buffer {
        final int unit;
        final Map<String, Tensor> views;
        /** Null for the replicated gradient buffer, which is the gradient itself and stays; else where the flat buffer goes back. */
        final FlatBufferPool pool;
        final boolean owned;
        final long bytes;
        /** Null once freed (a hybrid reduction frees it when its reduce-scatter is complete). */
        Tensor flat;
        Communicator.Pending pending;
        Tensor shard;
        /** A hybrid reduction whose all-reduce across the replicas is in flight. */
        boolean acrossReplicas;

        Buffer(int unit, Tensor flat, Map<String, Tensor> views, FlatBufferPool pool) {
            this.unit = unit;
            this.flat = flat;
            this.views = views;
            this.pool = pool;
            this.owned = pool != null;
            this.bytes = owned ? flat.numel() * flat.dtype().byteSize() : 0;
        }

        /** Frees the flat buffer and its views, keeping the shard. */
        void closeFlat() {
            if (!owned || flat == null) return;
            for (Tensor v : views.values()) v.close();
            pool.give(flat);
            flat = null;
        }

        void close() {
            closeFlat();
            if (owned && shard != null) shard.close();
        }
    }

    private final Communicator comm, shardGroup, replicas;
    private final ModelConfig config;
    private final ShardLayout layout;
    private final Options options;
    private final int rank;
    private final Tensor[] master, grad;
    /** Replicated only: the master weights and gradient buffers shaped as parameters. */
    private final List<Map<String, Tensor>> masterViews = new ArrayList<>(), gradViews = new ArrayList<>();
    private final Map<String, Tensor> masterPieces = new LinkedHashMap<>(), gradPieces = new LinkedHashMap<>();
    private final Buffer[] gathered, unsharded;
    private final FlatBufferPool flats;
    private final boolean[] keptForBackward;
    private final List<Buffer> reductions = new ArrayList<>();
    private boolean lastMicroBatch = true;
    /** Whether this rank ran a forward/backward since {@link #zeroGradients}. */
    private boolean ranPass;
    /** Units acquired and not yet released: one acquired inside another (the tied embedding, in the head) prefetches nothing. */
    private int held;
    private long gatheredBytes, gatheredPeak, unshardedBytes, unshardedPeak, exposedNanos;

    /** The model split over all ranks of {@code comm} (or replicated on each, as {@code options} say). */
    public ShardedModel(Communicator comm, ModelConfig config, Options options) {
        this(comm, ShardGroups.whole(comm), config, options);
    }

    /** The model split over each group of {@code groups} and replicated across them; {@code comm} is every rank. */
    public ShardedModel(Communicator comm, ShardGroups groups, ModelConfig config, Options options) {
        this.comm = comm;
        this.shardGroup = groups.shards();
        this.replicas = groups.replicas();
        this.config = config;
        this.options = options;
        this.flats = new FlatBufferPool(options.device());
        this.layout = ShardLayout.of(config, options.shard() ? shardGroup.size() : 1);
        this.rank = layout.shards() == 1 ? 0 : shardGroup.rank();
        int n = layout.units().size();
        master = new Tensor[n];
        grad = new Tensor[n];
        gathered = new Buffer[n];
        unsharded = new Buffer[n];
        keptForBackward = new boolean[n];
        for (ShardLayout.Unit u : layout.units()) {
            master[u.index()] = Tensor.zeros(DType.F32, options.device(), u.shardNumel());
            grad[u.index()] = Tensor.zeros(DType.F32, options.device(), u.shardNumel());
            for (ShardLayout.Piece p : layout.pieces(u.index(), rank)) {
                masterPieces.put(p.name(), master[u.index()].narrow(0, p.shardOffset(), p.length()));
                gradPieces.put(p.name(), grad[u.index()].narrow(0, p.shardOffset(), p.length()));
            }
            if (replicated()) {
                masterViews.add(views(master[u.index()], u));
                gradViews.add(views(grad[u.index()], u));
            }
        }
    }

    public ShardLayout layout() {
        return layout;
    }

    public ModelConfig config() {
        return config;
    }

    /** Every rank holds the whole model (no_shard, or one rank). */
    private boolean replicated() {
        return layout.shards() == 1;
    }

    /** This rank's shard: its rank among the ranks the model is split over (0 when replicated). */
    public int shardRank() {
        return rank;
    }

    /**
     * Whether this rank writes its shard into a checkpoint: one rank per shard, as hybrid_shard holds each shard
     * on every node (rank 0 alone when replicated).
     */
    public boolean writesShard() {
        return replicated() ? comm.isMain() : replicas.rank() == 0;
    }

    /**
     * Whether every rank must run every forward and backward together (sharded weights are all-gathered by
     * all ranks at once), so a rank that has run out of data runs passes whose results it ignores.
     */
    public boolean passesInLockstep() {
        return !replicated();
    }

    /**
     * How many forward/backward passes this rank runs in a step of {@code microBatches}, of which it
     * computes {@code mine}: its own, or in lockstep as many as the busiest rank.
     */
    public int passesPerStep(int mine, int microBatches) {
        return passesInLockstep() ? (microBatches + comm.size() - 1) / comm.size() : mine;
    }

    /**
     * The whole model's sum of a quantity (a gradient's sum of squares, say) of which this rank computed
     * its {@link #gradientPieces}' part: the shards' parts added up over the ranks of a group; a replica of
     * the whole model holds it all.
     */
    public double sumOverShards(double mine) {
        if (replicated()) return mine;
        double[] sum = {mine};
        shardGroup.allReduceSum(sum);
        return sum[0];
    }

    /** This rank's parts of the fp32 master weights by parameter name (1-D views, in model order): what AdamW updates. */
    public Map<String, Tensor> masterPieces() {
        return Collections.unmodifiableMap(masterPieces);
    }

    /** The gradient parts matching {@link #masterPieces}. */
    public Map<String, Tensor> gradientPieces() {
        return Collections.unmodifiableMap(gradPieces);
    }

    /** The pieces of this rank in {@link #layout}. */
    public List<ShardLayout.Piece> pieces() {
        return layout.pieces(rank);
    }

    /** Fills this rank's master weights from {@code source}. */
    public void load(ParameterSource source) {
        try (TensorScope ignored = TensorScope.open()) {
            for (ShardLayout.Piece p : pieces()) source.read(p.name(), p.paramStart(), p.length(), masterPieces.get(p.name()));
        }
    }

    // ================================================================ a step

    /** Zeroes the gradient shards: the start of a step. */
    public void zeroGradients() {
        for (Tensor g : grad) Copies.zero(g);
        ranPass = false;
    }

    /** The next forward/backward is this rank's last of the step (the one that synchronises, when not every one does). */
    public void beginMicroBatch(boolean last) {
        this.lastMicroBatch = last;
        ranPass = true;
    }

    /**
     * Completes every gradient reduction of the step: afterwards {@link #gradientPieces} hold the sum over
     * ranks of the step's gradients. Frees anything still gathered. A rank that ran no pass this step
     * (no_shard with fewer micro-batches than ranks) joins the other ranks' reductions with zero gradients.
     */
    public void finishGradients() {
        if (!ranPass) contributeNoGradients();
        while (!reductions.isEmpty()) advanceReductions();
        for (int u = 0; u < gathered.length; u++) free(u);
        for (int u = 0; u < unsharded.length; u++) {
            if (unsharded[u] != null) throw new IllegalStateException("unit " + u + "'s gradients were never reduced: finishGradients before its gradientsDone");
        }
    }

    // ================================================================ WeightAccess

    @Override
    public Map<String, Tensor> acquire(int unit, Pass pass) {
        if (replicated()) return masterViews.get(unit);
        if (gathered[unit] == null) gathered[unit] = startGather(unit);
        Buffer b = gathered[unit];
        await(b);
        if (held++ == 0) prefetch(nextInPass(unit, pass));
        if (pass == Pass.FORWARD && !options.reshardAfterForward()) keptForBackward[unit] = true;
        return b.views;
    }

    @Override
    public void release(int unit, Pass pass) {
        if (replicated()) return;
        held--;
        if (pass == Pass.FORWARD && keptForBackward[unit]) return;
        free(unit);
    }

    @Override
    public Map<String, Tensor> gradients(int unit) {
        if (replicated() && options.reduceDtype() == DType.F32) return gradViews.get(unit);
        if (unsharded[unit] == null) {
            ShardLayout.Unit u = layout.unit(unit);
            Tensor flat = flats.take(options.reduceDtype(), u.paddedNumel(layout.shards()));
            Copies.zero(flat);
            unsharded[unit] = new Buffer(unit, flat, detachAll(views(flat, u)), flats);
            unshardedBytes += unsharded[unit].bytes;
            unshardedPeak = Math.max(unshardedPeak, unshardedBytes);
        }
        return unsharded[unit].views;
    }

    @Override
    public void gradientsDone(int unit) {
        free(unit);
        boolean sync = lastMicroBatch || (options.syncEveryMicroBatch() && !replicated());
        if (!sync) return;
        // One reduction per stage in flight: the previous unit's has had this unit's backward to finish its stage.
        advanceReductions();
        Buffer b;
        if (replicated() && options.reduceDtype() == DType.F32) {
            if (comm.size() == 1) return;
            b = new Buffer(unit, grad[unit], Map.of(), null);
        } else {
            b = unsharded[unit];
            if (b == null) return;
            unsharded[unit] = null;
        }
        if (replicated()) {
            b.pending = comm.allReduceSumAsync(b.flat);
        } else {
            b.shard = TensorScope.detach(Tensor.empty(options.reduceDtype(), options.device(), layout.unit(unit).shardNumel()));
            b.pending = shardGroup.reduceScatterSumAsync(b.flat, b.shard);
        }
        reductions.add(b);
    }

    // ================================================================ whole units (export)

    /**
     * The full fp32 weights of {@code unit} by name, on every rank (an all-gather when sharded): the caller
     * closes the returned handle. One unit at a time, so no rank ever holds the model twice.
     */
    public FullUnit gatherFull(int unit) {
        ShardLayout.Unit u = layout.unit(unit);
        if (replicated()) return new FullUnit(null, masterViews.get(unit));
        Tensor flat = TensorScope.detach(Tensor.empty(DType.F32, options.device(), u.paddedNumel(layout.shards())));
        shardGroup.allGather(master[unit], flat);
        return new FullUnit(flat, detachAll(views(flat, u)));
    }

    /** A unit's full weights; closing frees them (unless they are the replicated master itself). */
    public record FullUnit(Tensor flat, Map<String, Tensor> weights) implements AutoCloseable {
        @Override
        public void close() {
            if (flat == null) return;
            for (Tensor t : weights.values()) t.close();
            flat.close();
        }
    }

    // ================================================================ accounting

    public Memory memory() {
        long shard = layout.shardNumel() * DType.F32.byteSize();
        return new Memory(shard, shard, gatheredPeak, unshardedPeak);
    }

    /** Time spent waiting for collectives (not hidden behind compute) since the last {@link #resetCommunicationTime}. */
    public long exposedCommunicationNanos() {
        return exposedNanos;
    }

    public void resetCommunicationTime() {
        exposedNanos = 0;
    }

    @Override
    public void close() {
        for (Buffer b : reductions) b.close();
        reductions.clear();
        for (int u = 0; u < gathered.length; u++) {
            if (gathered[u] != null) gathered[u].close();
            if (unsharded[u] != null) unsharded[u].close();
            gathered[u] = unsharded[u] = null;
        }
        flats.close();
    }

    // ================================================================ internals

    /** As each rank calls this at the same point of the same pass, the ranks issue the same all-gathers. */
    private void prefetch(int unit) {
        if (!options.prefetch() || unit < 0 || gathered[unit] != null) return;
        gathered[unit] = startGather(unit);
    }

    /**
     * The unit a pass acquires after {@code unit}, or −1: the next in forward order; in backward the
     * previous one, down to the first block (the embedding's backward needs no weights).
     */
    private int nextInPass(int unit, Pass pass) {
        if (pass == Pass.BACKWARD) return unit - 1 > ModelUnits.EMBEDDING ? unit - 1 : -1;
        return unit + 1 < gathered.length ? unit + 1 : -1;
    }

    /**
     * For a rank that ran no pass this step: joins the other ranks' gradient reductions with zero
     * gradients, unit by unit in backward order.
     */
    private void contributeNoGradients() {
        beginMicroBatch(true);
        for (int u = layout.units().size() - 1; u >= 0; u--) {
            gradients(u);
            gradientsDone(u);
        }
    }

    private Buffer startGather(int unit) {
        ShardLayout.Unit u = layout.unit(unit);
        Tensor flat = flats.take(options.computeDtype(), u.paddedNumel(layout.shards()));
        Buffer b = new Buffer(unit, flat, detachAll(views(flat, u)), flats);
        Tensor send = master[unit];
        if (options.computeDtype() != DType.F32) b.shard = send = TensorScope.detach(master[unit].to(options.computeDtype()));
        b.pending = shardGroup.allGatherAsync(send, flat);
        gatheredBytes += b.bytes;
        gatheredPeak = Math.max(gatheredPeak, gatheredBytes);
        return b;
    }

    private void free(int unit) {
        Buffer b = gathered[unit];
        if (b == null) return;
        await(b);
        gathered[unit] = null;
        keptForBackward[unit] = false;
        gatheredBytes -= b.bytes;
        b.close();
    }

    /** Takes every reduction in flight one stage further, in the order they were issued. */
    private void advanceReductions() {
        for (var it = reductions.iterator(); it.hasNext(); ) {
            if (advance(it.next())) it.remove();
        }
    }

    /**
     * Waits for a reduction's collective. Then, for a shard that has replicas and was only reduce-scattered,
     * starts its all-reduce across the replicas and returns false; otherwise adds the result into the
     * gradient shard and returns true (done).
     */
    private boolean advance(Buffer b) {
        await(b);
        if (!b.owned) return true;                             // reduced in place, in the gradient itself
        if (b.flat != null) unshardedBytes -= b.bytes;
        if (b.shard != null && replicas.size() > 1 && !b.acrossReplicas) {
            b.closeFlat();
            b.acrossReplicas = true;
            b.pending = replicas.allReduceSumAsync(b.shard);
            return false;
        }
        try (TensorScope ignored = TensorScope.open()) {
            InPlace.accumulate(grad[b.unit], b.shard != null ? b.shard : b.flat);
        }
        b.close();
        return true;
    }

    private void await(Buffer b) {
        if (b.pending == null) return;
        long start = System.nanoTime();
        b.pending.await();
        exposedNanos += System.nanoTime() - start;
        b.pending = null;
    }

    /** The parameters of unit {@code u} as views (their own shapes) of its flat buffer. */
    private static Map<String, Tensor> views(Tensor flat, ShardLayout.Unit u) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (ShardLayout.Param p : u.params()) {
            try (Tensor part = flat.narrow(0, p.offset(), p.numel())) {
                out.put(p.name(), part.view(p.shape()));
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static Map<String, Tensor> detachAll(Map<String, Tensor> views) {
        views.values().forEach(TensorScope::detach);
        return views;
    }
}
