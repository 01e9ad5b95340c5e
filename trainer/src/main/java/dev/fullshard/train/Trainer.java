package dev.fullshard.train;

import dev.fullshard.data.DataOptions;
import dev.fullshard.data.DataPosition;
import dev.fullshard.data.MicroBatch;
import dev.fullshard.data.TokenizedDataset;
import dev.fullshard.data.Tokenizer;
import dev.fullshard.data.TrainingData;
import dev.fullshard.dist.Communicator;
import dev.fullshard.dist.ProgressBeacon;
import dev.fullshard.dist.Communicators;
import dev.fullshard.io.CheckpointWriter;
import dev.fullshard.io.CheckpointReader;
import dev.fullshard.io.HfConfig;
import dev.fullshard.io.WeightNames;
import dev.fullshard.io.WritableTensor;
import dev.fullshard.model.CausalLm;
import dev.fullshard.model.CrossEntropy;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.optim.AdamW;
import dev.fullshard.optim.GradientClipping;
import dev.fullshard.optim.LossScaler;
import dev.fullshard.optim.LrSchedule;
import dev.fullshard.shard.ParameterSource;
import dev.fullshard.shard.ShardLayout;
import dev.fullshard.shard.ShardedModel;
import dev.fullshard.tensor.Cuda;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * One process's fine-tuning run, from a {@link TrainConfig} to checkpoints and a Hugging Face export.
 *
 * <p>A step: the next {@code gradient_accumulation_steps} micro-batches are taken from the data
 * stream; their loss is normalised by the number of target tokens in all of them together (so every
 * target token of the accumulated batch weighs the same, whatever micro-batch it fell into, as if the
 * whole batch had been one); forward and backward add into fp32 gradient buffers; fp16 gradients are
 * unscaled and checked for inf/NaN (the step is skipped, and the scale backed off, if any); the global
 * gradient norm is clipped; fused AdamW updates the fp32 master weights; the learning rate follows the
 * schedule. The model computes in {@code compute_dtype} from the fp32 master weights, block by block.
 *
 * <p>The weights live in a {@link ShardedModel}: with more than one rank each rank keeps its shard of
 * the fp32 master weights, gradients and AdamW moments (full_shard, shard_grad_op) or all of them
 * (no_shard), and the model gathers each unit as it computes (see the README's "Sharding (FSDP) and data
 * parallelism on CPU"). Every rank reads the same data stream; of a step's micro-batches, rank {@code r}
 * of {@code N} computes those with index {@code i % N == r}; the loss is still divided by the target
 * tokens of all of them. Rank 0 alone prints and writes files; checkpoints are written by every rank
 * holding a shard.
 */
public final class Trainer {
    /** How a run ended. {@code stoppedBy} is the signal's name when a signal stopped it, else null. */
    public record Result(long steps, double lastLoss, double evalLoss, Path checkpoint, Path export, String stoppedBy) {
    }

    private static final int CUDA_LOSS_CHUNK_TOKENS = 4096;
    private static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "tokenizer.model", "generation_config.json");

    private final TrainConfig config;
    private final StopRequest stop;
    private final PrintWriter out;
    private final Communicator comm;
    /** The checkpoint this run resumed from, or null. */
    private Path resumedFrom;

    private Trainer(TrainConfig config, StopRequest stop, PrintWriter out, Communicator comm) {
        this.config = config;
        this.stop = stop;
        this.comm = comm;
        this.out = comm.isMain() ? out : new PrintWriter(Writer.nullWriter());
    }

    /**
     * Runs on the ranks the environment announces, on the device the config asks for: each rank on GPU
     * {@code LOCAL_RANK} with NCCL, or on the CPU with MPI ({@link Communicators}); world size 1 without a launcher.
     */
    public static Result run(TrainConfig config, StopRequest stop, PrintWriter out) throws IOException {
        Device device = RankDevice.select(config.device(), System.getenv());
        try (Communicator comm = Communicators.fromEnvironment(System.getenv(), device)) {
            return run(config, stop, out, comm);
        }
    }

    /** Runs as one rank of {@code comm}; every rank calls this with the same config. Does not close {@code comm}. */
    public static Result run(TrainConfig config, StopRequest stop, PrintWriter out, Communicator comm) throws IOException {
        try (TensorScope ignored = TensorScope.open()) {
            return new Trainer(config, stop, out, comm).train();
        }
    }

    private Result train() throws IOException {
        Path outputDir = config.logging().outputDir();
        if (comm.isMain()) {
            Files.createDirectories(outputDir);
            Files.writeString(outputDir.resolve(TrainConfig.SAVED_NAME), config.toYaml());
        }
        TrainConfig.Training t = config.training();
        DType compute = config.computeDtype();

        Path modelDir = config.model().path();
        ModelConfig modelConfig = HfConfig.read(modelDir);
        ShardedModel model = new ShardedModel(comm, modelConfig, shardingOptions(compute));
        try (model) {
            try (CheckpointReader reader = CheckpointReader.open(modelDir)) {
                WeightNames.check(modelConfig, reader.shapes(), modelDir);
                model.load(ParameterSource.of(reader));
            }
            return train(model, modelDir);
        }
    }

    private ShardedModel.Options shardingOptions(DType compute) {
        TrainConfig.Distributed d = config.distributed();
        return new ShardedModel.Options(d.sharding() != TrainConfig.Sharding.NO_SHARD, d.sharding() == TrainConfig.Sharding.FULL_SHARD,
                d.prefetch(), compute, d.reduceDtype().dtype(), d.gradientSync() == TrainConfig.GradientSync.EVERY_MICRO_BATCH, comm.device());
    }

    private Result train(ShardedModel model, Path modelDir) throws IOException {
        Path outputDir = config.logging().outputDir();
        TrainConfig.Training t = config.training();
        DType compute = config.computeDtype();
        ModelConfig modelConfig = model.config();
        TrainingData trainData, evalData = null;
        try (Tokenizer tokenizer = Tokenizer.load(modelDir)) {
            DataOptions options = dataOptions();
            TokenizedDataset train = TokenizedDataset.load(config.data().trainFiles(), tokenizer, options);
            out.println("data: train " + train.report());
            trainData = TrainingData.of(train, new TrainingData.Options(t.microBatchSize(), config.data().packing(), true, t.seed()));
            if (!config.data().evalFiles().isEmpty()) {
                TokenizedDataset eval = TokenizedDataset.load(config.data().evalFiles(), tokenizer, options);
                out.println("data: eval " + eval.report());
                evalData = TrainingData.of(eval, new TrainingData.Options(t.microBatchSize(), config.data().packing(), false, t.seed()));
            }
        }
        long stepsPerEpoch = trainData.stepsPerEpoch(t.microBatchSize(), t.gradientAccumulationSteps());
        long totalSteps = config.totalSteps(stepsPerEpoch);
        LrSchedule schedule = schedule(totalSteps);

        AdamW optimizer = new AdamW(model.masterPieces(), config.optimizer().beta1(), config.optimizer().beta2(), config.optimizer().eps(),
                config.optimizer().weightDecay());
        TrainConfig.LossScaling ls = config.lossScaling();
        LossScaler scaler = config.mixedPrecision() == TrainConfig.Precision.FP16
                ? new LossScaler(comm.device(), ls.initScale(), ls.growthFactor(), ls.backoffFactor(), ls.growthInterval()) : null;
        CausalLm.Options modelOptions = CausalLm.Options.defaults().withComputeDtype(compute).withCheckpointing(t.activationCheckpointing())
                .withDevice(comm.device());
        // A GPU runs the LM head's matmuls best in large chunks; the logits of 4,096 tokens × 32k vocabulary are 0.5 GB in float32.
        if (comm.device().type() == Device.Type.CUDA) modelOptions = modelOptions.withLossChunkTokens(CUDA_LOSS_CHUNK_TOKENS);
        CausalLm lm = new CausalLm(modelConfig, model, modelOptions.withLabelSmoothing(t.labelSmoothing()));
        CausalLm evalLm = new CausalLm(modelConfig, model, modelOptions);

        CheckpointStore store = new CheckpointStore(outputDir);
        TrainerState state = resume(store, model, optimizer, scaler);
        checkSameOnAllRanks(state);
        long resumedAt = state.step();
        out.printf(Locale.ROOT, "train: %s, %,d parameters, compute %s on %s, %d steps (%d per epoch), global batch %d x %d tokens%s%s%n",
                modelConfig.architecture().className(), model.layout().numel(), compute, comm.device(), totalSteps, stepsPerEpoch, config.globalBatch(),
                config.data().maxSeqLen(), state.step() > 0 ? ", resumed at step " + state.step() : "",
                comm.size() > 1 ? ", " + comm.size() + " ranks, " + config.distributed().sharding().name().toLowerCase(Locale.ROOT) : "");
        if (t.gradientAccumulationSteps() % comm.size() != 0) {
            out.printf(Locale.ROOT, "train: warning: gradient_accumulation_steps (%d) is not a multiple of the %d ranks, so some ranks idle "
                    + "for part of every step; use a multiple for full speed%n", t.gradientAccumulationSteps(), comm.size());
        }
        MemoryReport memory = new MemoryReport(comm, model, optimizer);

        Path lastCheckpoint = null;
        double evalLoss = Double.NaN;
        try (MetricsLog metrics = comm.isMain() ? new MetricsLog(outputDir.resolve("metrics.jsonl")) : MetricsLog.discarding();
             ProgressBeacon beacon = ProgressBeacon.fromEnvironment(System.getenv(), new PrintWriter(System.err, true))) {
            Progress progress = new Progress(out, Progress.isTerminal(), totalSteps, config.logging().loggingSteps());
            memory.log("start", metrics, out);
            long started = System.nanoTime(), tokensAtStart = state.tokensSeen(), positions = 0;
            // A baseline before a fresh run's first step, so the eval curve shows what training changed.
            if (evalData != null && state.step() == 0 && !stopRequested()) evalLoss = evaluate(evalLm, model, evalData, metrics, 0, progress);
            beacon.report(state.step());
            while (state.step() < totalSteps && !stopRequested()) {
                long stepStart = System.nanoTime();
                StepResult r = step(trainData, new DataPosition((int) state.epoch(), (int) state.nextSequence()), lm, model, optimizer,
                        scaler, schedule.lr(state.step()));
                memory.activations(r.activationBytes());
                state = new TrainerState(state.step() + 1, r.next().epoch(), r.next().sequence(), state.tokensSeen() + r.tokens(),
                        state.skippedSteps() + (r.skipped() != null ? 1 : 0), scaler == null ? 1.0 : scaler.scale(),
                        scaler == null ? 0 : scaler.growthTracker(), r.loss());
                positions += r.positions();
                beacon.report(state.step());
                // Throughput counts every position of the batch (as Hugging Face's tokens/s does), not only targets.
                double tokensPerSecond = r.positions() / ((System.nanoTime() - stepStart) / 1e9);
                double epoch = state.epoch() + state.nextSequence() / (double) trainData.sequencesPerEpoch();
                double stepSeconds = (System.nanoTime() - stepStart) / 1e9;
                Map<String, Object> split = new LinkedHashMap<>(Map.of("compute_s", stepSeconds - r.communicationSeconds() - r.optimizerSeconds(),
                        "communication_s", r.communicationSeconds(), "optimizer_s", r.optimizerSeconds()));
                if (comm.device().type() == Device.Type.CUDA) split.put("device_memory_used_bytes", Cuda.memory(comm.device()).used());
                metrics.train(state.step(), epoch, r.loss(), r.lr(), r.gradNorm(), tokensPerSecond, state.tokensSeen(), split);
                if (state.step() == resumedAt + 1) memory.log("first_step", metrics, out);
                if (r.skipped() != null) {
                    progress.message(String.format(Locale.ROOT, "step %d skipped: %s (loss scale %.0f)", state.step(), r.skipped(),
                            state.lossScale()));
                    metrics.event("skipped_step", Map.of("step", state.step(), "reason", r.skipped(), "loss_scale", state.lossScale()));
                }
                progress.step(state.step(), r.loss(), r.lr(), r.gradNorm(), tokensPerSecond);
                if (evalData != null && config.logging().evalSteps() > 0 && state.step() % config.logging().evalSteps() == 0
                        && state.step() < totalSteps) {
                    evalLoss = evaluate(evalLm, model, evalData, metrics, state.step(), progress);
                }
                if (config.logging().saveSteps() > 0 && state.step() % config.logging().saveSteps() == 0 && state.step() < totalSteps) {
                    lastCheckpoint = save(store, model, optimizer, scaler, state, progress);
                }
            }
            if (stopRequested()) {
                lastCheckpoint = save(store, model, optimizer, scaler, state, progress);
                String signal = stop.signalName() != null ? stop.signalName() : "another rank's signal";
                metrics.event("stopped", Map.of("step", state.step(), "signal", signal));
                progress.message("train: stopped by " + signal + " after step " + state.step() + "; resume with the same command");
                return new Result(state.step(), state.lastLoss(), evalLoss, lastCheckpoint, null, signal);
            }
            if (evalData != null) evalLoss = evaluate(evalLm, model, evalData, metrics, state.step(), progress);
            // A run resumed from its final checkpoint has nothing new to save.
            boolean upToDate = resumedFrom != null && resumedAt == state.step();
            lastCheckpoint = upToDate ? resumedFrom : save(store, model, optimizer, scaler, state, progress);
            Path export = outputDir.resolve("final");
            export(export, model, compute, modelDir);
            if (comm.isMain()) LossPlot.write(outputDir.resolve("loss.png"), metrics.trainPoints(), metrics.evalPoints());
            comm.barrier();
            double seconds = (System.nanoTime() - started) / 1e9;
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("steps", state.step());
            summary.put("train_loss", state.lastLoss());
            if (evalData != null) {
                summary.put("eval_loss", evalLoss);
                summary.put("eval_perplexity", Math.exp(evalLoss));
            }
            summary.put("target_tokens", state.tokensSeen() - tokensAtStart);
            summary.put("tokens", positions);
            summary.put("seconds", seconds);
            summary.put("skipped_steps", state.skippedSteps());
            metrics.event("summary", summary);
            progress.message(String.format(Locale.ROOT, "train: done: %d steps, last loss %.4f, %s, %s; model in %s",
                    state.step(), state.lastLoss(),
                    evalData == null ? "no eval data" : String.format(Locale.ROOT, "eval loss %.4f (perplexity %.2f)", evalLoss, Math.exp(evalLoss)),
                    positions == 0 ? "no step left to train" : String.format(Locale.ROOT, "%.0f tokens/s over %.1f s", positions / seconds, seconds),
                    export));
            return new Result(state.step(), state.lastLoss(), evalLoss, lastCheckpoint, export, null);
        }
    }

    /**
     * One step's outcome; {@code skipped} says why the optimizer did not run (null when it did). The time
     * split: communication is the time spent waiting for collectives (what overlap did not hide),
     * optimizer is clipping plus AdamW; the rest of the step is compute.
     */
    private record StepResult(double loss, double lr, double gradNorm, long tokens, long positions, String skipped, DataPosition next,
                              double communicationSeconds, double optimizerSeconds, long activationBytes) {
    }

    private StepResult step(TrainingData data, DataPosition at, CausalLm lm, ShardedModel model, AdamW optimizer, LossScaler scaler,
                            double lr) {
        TrainConfig.Training t = config.training();
        // Every rank takes the same micro-batches from the (identical) data stream and computes its share.
        List<MicroBatch> batches = data.step(at, t.gradientAccumulationSteps());
        long tokens = batches.stream().mapToLong(MicroBatch::targetTokens).sum();
        long positions = batches.stream().mapToLong(mb -> (long) mb.batchSize() * mb.seqLen()).sum();
        DataPosition next = batches.getLast().next();
        if (tokens == 0) return new StepResult(Double.NaN, lr, 0, 0, positions, "no target tokens in the batch", next, 0, 0, 0);
        model.zeroGradients();
        model.resetCommunicationTime();
        double scale = scaler == null ? 1.0 : scaler.scale();
        double lossSum = 0;
        long activations = 0;
        List<MicroBatch> mine = new ArrayList<>();
        for (int i = comm.rank(); i < batches.size(); i += comm.size()) mine.add(batches.get(i));
        // Sharded weights need every rank at every unit's all-gather: a rank with fewer micro-batches (the
        // last step of an epoch may be short) runs the first one again with every target ignored (no loss,
        // zero gradients).
        int rounds = model.replicated() ? mine.size() : (batches.size() + comm.size() - 1) / comm.size();
        for (int k = 0; k < rounds; k++) {
            model.beginMicroBatch(k == rounds - 1);
            try (TensorScope ignored = TensorScope.open()) {
                MicroBatch mb = k < mine.size() ? mine.get(k) : batches.getFirst();
                Tensor targets = k < mine.size() ? mb.targetsTensor()
                        : Tensor.full(CrossEntropy.IGNORE_INDEX, DType.I64, Device.CPU, mb.targetsTensor().shape());
                // Σℓ·scale / tokens: each micro-batch's share of the whole accumulated batch's mean, scaled for fp16.
                CausalLm.Loss l = lm.forwardBackward(mb.tokensTensor(), targets, tokens / scale);
                lossSum += l.sum();
                activations = Math.max(activations, l.activationBytes());
            }
        }
        if (mine.isEmpty() && model.replicated()) model.contributeNoGradients();   // sharded ranks ran ignored passes above
        model.finishGradients();
        long collectivesStart = System.nanoTime();
        double[] sum = {lossSum};
        comm.allReduceSum(sum);
        long collectives = System.nanoTime() - collectivesStart;
        double loss = sum[0] / tokens;
        Map<String, Tensor> grads = model.gradientPieces();
        if (scaler != null) {
            // Each rank checks its own shard; a step is skipped everywhere when any shard overflowed.
            boolean found = scaler.unscaleAndCheck(grads);
            long agreeStart = System.nanoTime();
            boolean overflow = anyRank(found);
            collectives += System.nanoTime() - agreeStart;
            scaler.update(overflow);
            if (overflow) {
                return new StepResult(loss, lr, Double.NaN, tokens, positions, "inf/NaN in the fp16 gradients", next,
                        communicationSeconds(model, collectives), 0, activations);
            }
        }
        double[] squares = {GradientClipping.sumOfSquares(grads)};
        long normStart = System.nanoTime();
        if (!model.replicated()) comm.allReduceSum(squares);           // each shard holds a part; replicas hold it all
        collectives += System.nanoTime() - normStart;
        double norm = Math.sqrt(squares[0]);
        double communication = communicationSeconds(model, collectives);
        if (!Double.isFinite(norm)) {
            return new StepResult(loss, lr, norm, tokens, positions, "non-finite gradient norm", next, communication, 0, activations);
        }
        long optimizerStart = System.nanoTime();
        if (t.maxGradNorm() > 0) GradientClipping.clip(grads, norm, t.maxGradNorm());
        optimizer.step(grads, lr);
        Cuda.synchronize(comm.device());           // a GPU runs behind the host: time the work, not its queueing
        return new StepResult(loss, lr, norm, tokens, positions, null, next, communication, (System.nanoTime() - optimizerStart) / 1e9,
                activations);
    }

    /** The collectives' exposed time: the model's waits, plus {@code stepCollectives} ns of the step's small all-reduces. */
    private static double communicationSeconds(ShardedModel model, long stepCollectives) {
        return (model.exposedCommunicationNanos() + stepCollectives) / 1e9;
    }

    private boolean anyRank(boolean mine) {
        long[] flag = {mine ? 1 : 0};
        comm.allReduceSum(flag);
        return flag[0] > 0;
    }

    /**
     * Every rank evaluates its share of the batches (sharded weights must be gathered by all ranks
     * together, so they run in lockstep); the sums are added up over the ranks.
     */
    private double evaluate(CausalLm lm, ShardedModel model, TrainingData data, MetricsLog metrics, long step, Progress progress) {
        Evaluation.Sum mine = Evaluation.share(lm, data, comm.rank(), comm.size(), !model.replicated());
        double[] sums = {mine.sum(), mine.tokens()};
        comm.allReduceSum(sums);
        if (sums[1] == 0) throw new IllegalArgumentException("the evaluation data has no target tokens");
        Evaluation.Result r = new Evaluation.Result(sums[0] / sums[1], (long) sums[1]);
        metrics.eval(step, r.loss(), r.tokens());
        progress.message(String.format(Locale.ROOT, "eval: step %d loss %.4f perplexity %.2f (%d tokens)", step, r.loss(), r.perplexity(),
                r.tokens()));
        return r.loss();
    }

    /** True when a signal reached any rank: all ranks then stop after the same step. */
    private boolean stopRequested() {
        if (comm.size() == 1) return stop.requested();
        long[] flag = {stop.requested() ? 1 : 0};
        comm.allReduceSum(flag);
        return flag[0] > 0;
    }

    /** Every rank must resume from the same step and data position, else the ranks would disagree forever. */
    private void checkSameOnAllRanks(TrainerState state) {
        if (comm.size() == 1) return;
        long[] mine = {state.step(), state.epoch(), state.nextSequence()};
        long[] sum = mine.clone();
        comm.allReduceSum(sum);
        for (int i = 0; i < mine.length; i++) {
            if (sum[i] != mine[i] * comm.size()) {
                throw new IllegalStateException("rank " + comm.rank() + " resumed at step " + state.step() + " but the ranks disagree "
                        + "(is output_dir on storage all ranks see?)");
            }
        }
    }

    private TrainerState resume(CheckpointStore store, ShardedModel model, AdamW optimizer, LossScaler scaler) throws IOException {
        Optional<Path> from = switch (config.resume()) {
            case TrainConfig.Resume.Auto a -> store.newest();
            case TrainConfig.Resume.None n -> Optional.empty();
            case TrainConfig.Resume.From f -> Optional.of(f.checkpoint());
        };
        if (from.isEmpty()) return TrainerState.start();
        TrainerState state = TrainingCheckpoint.load(from.get(), model, optimizer, scaler);
        out.println("train: resuming from " + from.get());
        resumedFrom = from.get();
        return state;
    }

    private Path save(CheckpointStore store, ShardedModel model, AdamW optimizer, LossScaler scaler, TrainerState state, Progress progress)
            throws IOException {
        Path saved = TrainingCheckpoint.save(comm, store, model, optimizer, scaler, state, config.logging().saveTotalLimit());
        progress.message("checkpoint: " + saved);
        return saved;
    }

    /**
     * A Hugging Face directory with the weights in the compute dtype (fp32 when training in fp32) and the
     * tokenizer files, written by rank 0 as the ranks gather the full weights one unit at a time.
     */
    private void export(Path dir, ShardedModel model, DType compute, Path modelDir) throws IOException {
        DType dtype = compute == DType.F16 || compute == DType.BF16 ? compute : DType.F32;
        UnitCursor cursor = new UnitCursor(model);
        List<WritableTensor> tensors = new ArrayList<>();
        Map<String, Integer> unitOf = new LinkedHashMap<>();
        for (ShardLayout.Unit u : model.layout().units()) {
            for (ShardLayout.Param p : u.params()) {
                unitOf.put(p.name(), u.index());
                tensors.add(new WritableTensor(p.name(), dtype, p.shape(), () -> cursor.weight(u.index(), p.name()).to(dtype)));
            }
        }
        try (cursor) {
            if (comm.isMain()) {
                if (Files.exists(dir)) deleteTree(dir); // the export of an earlier run; the checkpoints stay
                CheckpointWriter.write(dir, model.config(), tensors, CheckpointWriter.DEFAULT_MAX_SHARD_BYTES, target -> {
                    for (String name : TOKENIZER_FILES) {
                        Path source = modelDir.resolve(name);
                        if (Files.isRegularFile(source)) Files.copy(source, target.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                    }
                });
            } else {
                // Join each all-gather the writer on rank 0 triggers, in the order it opens the tensors.
                for (WritableTensor t : CheckpointWriter.openOrder(tensors, CheckpointWriter.DEFAULT_MAX_SHARD_BYTES)) {
                    cursor.weight(unitOf.get(t.name()), t.name());
                }
            }
        }
        comm.barrier();
    }

    /**
     * The unit being exported: gathered when the writer asks for one of its weights, freed when it moves on to
     * another unit. The writer goes by file order (names sorted), which keeps each decoder layer together,
     * so each unit is gathered once, the head twice.
     */
    private static final class UnitCursor implements AutoCloseable {
        private final ShardedModel model;
        private ShardedModel.FullUnit current;
        private int unit = -1;

        UnitCursor(ShardedModel model) {
            this.model = model;
        }

        Tensor weight(int unit, String name) {
            if (unit != this.unit) {
                close();
                current = model.gatherFull(unit);
                this.unit = unit;
            }
            return current.weights().get(name);
        }

        @Override
        public void close() {
            if (current != null) current.close();
            current = null;
        }
    }

    private DataOptions dataOptions() {
        TrainConfig.Data d = config.data();
        return new DataOptions(d.format(), d.template(), d.chatTemplate(), d.maxSeqLen(), d.skipBadLines(), null);
    }

    private LrSchedule schedule(long totalSteps) {
        TrainConfig.Scheduler s = config.scheduler();
        long warmup = config.warmupSteps(totalSteps);
        double lr = config.optimizer().lr();
        return switch (s.type()) {
            case COSINE -> LrSchedule.cosine(lr, totalSteps, warmup, s.minLrRatio());
            case LINEAR -> LrSchedule.linear(lr, totalSteps, warmup, s.minLrRatio());
            case CONSTANT -> LrSchedule.constant(lr, totalSteps, warmup);
        };
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
