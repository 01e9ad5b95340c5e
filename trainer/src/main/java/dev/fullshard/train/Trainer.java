package dev.fullshard.train;

import dev.fullshard.data.ChatTemplate;
import dev.fullshard.data.DataFormat;
import dev.fullshard.data.DataOptions;
import dev.fullshard.data.DataPosition;
import dev.fullshard.data.TokenizedDataset;
import dev.fullshard.data.Tokenizer;
import dev.fullshard.data.TrainingData;
import dev.fullshard.dist.Communicator;
import dev.fullshard.dist.ProgressBeacon;
import dev.fullshard.dist.Communicators;
import dev.fullshard.io.CheckpointReader;
import dev.fullshard.io.HfConfig;
import dev.fullshard.io.WeightNames;
import dev.fullshard.model.CausalLm;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.optim.AdamW;
import dev.fullshard.optim.LossScaler;
import dev.fullshard.optim.LrSchedule;
import dev.fullshard.shard.HfExport;
import dev.fullshard.shard.ParameterSource;
import dev.fullshard.shard.ShardGroups;
import dev.fullshard.shard.ShardedModel;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.TensorScope;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One process's fine-tuning run, from a {@link TrainConfig} to checkpoints and a Hugging Face export.
 *
 * <p>The loop: {@link TrainStep} runs one optimizer step, the learning rate following the schedule;
 * {@link StepLog} writes what the step measured; {@link Cadence} says when to evaluate ({@link Validator})
 * and when to save ({@link Checkpointer}). At the end the run evaluates, saves and exports the model
 * ({@link HfExport}). The model computes in {@code compute_dtype} from the fp32 master weights, block by block.
 *
 * <p>The weights live in a {@link ShardedModel}: with more than one rank each rank keeps its shard of
 * the fp32 master weights, gradients and AdamW moments (full_shard, shard_grad_op) or all of them
 * (no_shard), and the model gathers each unit as it computes (docs/sharding.md). Rank 0 alone prints and
 * writes files; checkpoints are written by every rank holding a shard.
 */
public final class Trainer {
    /** How a run ended. {@code stoppedBy} is the signal's name when a signal stopped it, else null. */
    public record Result(long steps, double lastLoss, double evalLoss, Path checkpoint, Path export, String stoppedBy) {
    }

    static final int CUDA_LOSS_CHUNK_TOKENS = 4096;

    private final TrainConfig config;
    private final StopRequest stop;
    private final PrintWriter out;
    private final Communicator comm;

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
        TrainConfig.Distributed d = config.distributed();
        try (ShardGroups groups = shardGroups(d, comm); ShardedModel model = new ShardedModel(comm, groups, modelConfig, shardingOptions(d, compute, comm))) {
            loadWeights(model, modelDir);
            return train(model, modelDir);
        }
    }

    /** The weights of the Hugging Face directory {@code modelDir}, each rank reading its pieces. */
    static void loadWeights(ShardedModel model, Path modelDir) throws IOException {
        try (CheckpointReader reader = CheckpointReader.open(modelDir)) {
            WeightNames.check(model.config(), reader.shapes(), modelDir);
            model.load(ParameterSource.of(reader));
        }
    }

    /** hybrid_shard: groups of {@code shard_group_size} ranks, by default the ranks of each node; otherwise one group of all. */
    static ShardGroups shardGroups(TrainConfig.Distributed d, Communicator comm) {
        if (d.sharding() != TrainConfig.Sharding.HYBRID_SHARD || comm.size() == 1) return ShardGroups.whole(comm);
        int size = d.shardGroupSize() > 0 ? d.shardGroupSize() : ShardGroups.ranksPerNode(System.getenv(), comm.rank());
        return ShardGroups.hybrid(comm, size);
    }

    static ShardedModel.Options shardingOptions(TrainConfig.Distributed d, DType compute, Communicator comm) {
        return new ShardedModel.Options(d.sharding() != TrainConfig.Sharding.NO_SHARD, d.sharding() != TrainConfig.Sharding.SHARD_GRAD_OP,
                d.prefetch(), compute, d.reduceDtype().dtype(), d.gradientSync() == TrainConfig.GradientSync.EVERY_MICRO_BATCH, comm.device());
    }

    /** The model's options for training: compute dtype, activation checkpointing, device, and the GPU's loss chunks. */
    static CausalLm.Options modelOptions(DType compute, boolean checkpointing, Device device) {
        CausalLm.Options options = CausalLm.Options.defaults().withComputeDtype(compute).withCheckpointing(checkpointing).withDevice(device);
        // A GPU runs the LM head's matmuls best in large chunks; the logits of 4,096 tokens × 32k vocabulary are 0.5 GB in float32.
        return device.type() == Device.Type.CUDA ? options.withLossChunkTokens(CUDA_LOSS_CHUNK_TOKENS) : options;
    }

    private Result train(ShardedModel model, Path modelDir) throws IOException {
        Path outputDir = config.logging().outputDir();
        TrainConfig.Training t = config.training();
        DType compute = config.computeDtype();
        ModelConfig modelConfig = model.config();
        Datasets data = loadData(modelDir);
        TrainingData trainData = data.train(), evalData = data.eval();
        long stepsPerEpoch = trainData.stepsPerEpoch(t.microBatchSize(), t.gradientAccumulationSteps());
        long totalSteps = config.totalSteps(stepsPerEpoch);
        LrSchedule schedule = schedule(totalSteps);
        Cadence cadence = Cadence.of(config, totalSteps, evalData != null);

        AdamW optimizer = new AdamW(model.masterPieces(), config.optimizer().beta1(), config.optimizer().beta2(), config.optimizer().eps(),
                config.optimizer().weightDecay());
        TrainConfig.LossScaling ls = config.lossScaling();
        LossScaler scaler = config.mixedPrecision() == TrainConfig.Precision.FP16
                ? new LossScaler(comm.device(), ls.initScale(), ls.growthFactor(), ls.backoffFactor(), ls.growthInterval()) : null;
        CausalLm.Options modelOptions = modelOptions(compute, t.activationCheckpointing(), comm.device());
        TrainStep trainStep = new TrainStep(comm, model, new CausalLm(modelConfig, model, modelOptions.withLabelSmoothing(t.labelSmoothing())),
                optimizer, scaler, t);
        Validator validator = evalData == null ? null : new Validator(comm, model, new CausalLm(modelConfig, model, modelOptions), evalData);

        Checkpointer checkpointer = new Checkpointer(comm, new CheckpointStore(outputDir), model, optimizer, scaler,
                config.logging().saveTotalLimit());
        TrainerState state = checkpointer.resume(config.resume(), out);
        checkSameOnAllRanks(state);
        long resumedAt = state.step();
        printStart(model, totalSteps, stepsPerEpoch, resumedAt);
        MemoryReport memory = new MemoryReport(comm, model, optimizer);

        Path lastCheckpoint = null;
        double evalLoss = Double.NaN;
        try (MetricsLog metrics = comm.isMain() ? new MetricsLog(outputDir.resolve("metrics.jsonl")) : MetricsLog.discarding();
             ProgressBeacon beacon = ProgressBeacon.fromEnvironment(System.getenv(), new PrintWriter(System.err, true))) {
            Progress progress = new Progress(out, Progress.isTerminal(), totalSteps, config.logging().loggingSteps());
            StepLog stepLog = new StepLog(metrics, progress, memory, out, comm.device(), resumedAt + 1, trainData.sequencesPerEpoch());
            memory.log("start", metrics, out);
            long started = System.nanoTime(), tokensAtStart = state.tokensSeen(), positions = 0;
            if (cadence.evaluateBefore(state.step()) && !stopRequested()) evalLoss = validator.run(0, metrics, progress);
            beacon.report(state.step());
            while (state.step() < totalSteps && !stopRequested()) {
                long stepStart = System.nanoTime();
                TrainStep.Result r = trainStep.run(trainData, new DataPosition((int) state.epoch(), (int) state.nextSequence()),
                        schedule.lr(state.step()));
                memory.activations(r.activationBytes());
                state = after(state, r, scaler);
                positions += r.positions();
                beacon.report(state.step());
                stepLog.log(state, r, stepStart);
                if (cadence.evaluateAfter(state.step())) evalLoss = validator.run(state.step(), metrics, progress);
                if (cadence.saveAfter(state.step())) lastCheckpoint = checkpointer.save(state, progress);
            }
            if (stopRequested()) {
                lastCheckpoint = checkpointer.save(state, progress);
                String signal = stop.signalName() != null ? stop.signalName() : "another rank's signal";
                metrics.event("stopped", Map.of("step", state.step(), "signal", signal));
                progress.message("train: stopped by " + signal + " after step " + state.step() + "; resume with the same command");
                return new Result(state.step(), state.lastLoss(), evalLoss, lastCheckpoint, null, signal);
            }
            if (validator != null) evalLoss = validator.run(state.step(), metrics, progress);
            // A run resumed from its final checkpoint has nothing new to save.
            boolean upToDate = checkpointer.resumedFrom() != null && resumedAt == state.step();
            lastCheckpoint = upToDate ? checkpointer.resumedFrom() : checkpointer.save(state, progress);
            Path export = outputDir.resolve("final");
            HfExport.write(comm, model, compute, export, modelDir);
            if (comm.isMain()) LossPlot.write(outputDir.resolve("loss.png"), metrics.trainPoints(), metrics.evalPoints());
            comm.barrier();
            double seconds = (System.nanoTime() - started) / 1e9;
            summarize(state, validator != null, evalLoss, state.tokensSeen() - tokensAtStart, positions, seconds, export, metrics, progress);
            return new Result(state.step(), state.lastLoss(), evalLoss, lastCheckpoint, export, null);
        }
    }

    /** The training data and the evaluation data (null when the config names none). */
    private record Datasets(TrainingData train, TrainingData eval) {
    }

    private Datasets loadData(Path modelDir) throws IOException {
        TrainConfig.Training t = config.training();
        try (Tokenizer tokenizer = Tokenizer.load(modelDir)) {
            DataOptions options = config.data().options(tokenizer);
            if (options.format() == DataFormat.CHAT) {
                out.println("data: chat template " + ChatTemplate.explain(config.data().chatTemplate(), options.chatTemplate()));
            }
            TokenizedDataset train = TokenizedDataset.load(config.data().trainFiles(), tokenizer, options);
            out.println("data: train " + train.report());
            TrainingData trainData = TrainingData.of(train, new TrainingData.Options(t.microBatchSize(), config.data().packing(), true, t.seed()));
            if (config.data().evalFiles().isEmpty()) return new Datasets(trainData, null);
            TokenizedDataset eval = TokenizedDataset.load(config.data().evalFiles(), tokenizer, options);
            out.println("data: eval " + eval.report());
            return new Datasets(trainData, TrainingData.of(eval, new TrainingData.Options(t.microBatchSize(), config.data().packing(), false,
                    t.seed())));
        }
    }

    /** What is about to train: model, size, device, steps, batch, whether it resumed; a warning for idle ranks. */
    private void printStart(ShardedModel model, long totalSteps, long stepsPerEpoch, long resumedAt) {
        int accumulation = config.training().gradientAccumulationSteps();
        out.printf(Locale.ROOT, "train: %s, %,d parameters, compute %s on %s, %d steps (%d per epoch), global batch %d x %d tokens%s%s%n",
                model.config().architecture().className(), model.layout().numel(), config.computeDtype(), comm.device(), totalSteps, stepsPerEpoch,
                config.globalBatch(), config.data().maxSeqLen(), resumedAt > 0 ? ", resumed at step " + resumedAt : "",
                comm.size() > 1 ? ", " + comm.size() + " ranks, " + config.distributed().sharding().name().toLowerCase(Locale.ROOT)
                        + (model.layout().shards() > 1 && model.layout().shards() < comm.size() ? " (groups of " + model.layout().shards() + ")" : "") : "");
        if (accumulation % comm.size() != 0) {
            out.printf(Locale.ROOT, "train: warning: gradient_accumulation_steps (%d) is not a multiple of the %d ranks, so some ranks idle "
                    + "for part of every step; use a multiple for full speed%n", accumulation, comm.size());
        }
    }

    /** The state after step {@code r}, which started from {@code state}. */
    private static TrainerState after(TrainerState state, TrainStep.Result r, LossScaler scaler) {
        return new TrainerState(state.step() + 1, r.next().epoch(), r.next().sequence(), state.tokensSeen() + r.tokens(),
                state.skippedSteps() + (r.skipped() != null ? 1 : 0), scaler == null ? 1.0 : scaler.scale(),
                scaler == null ? 0 : scaler.growthTracker(), r.loss());
    }

    /** The run's summary event and last console line. */
    private static void summarize(TrainerState state, boolean evaluated, double evalLoss, long targetTokens, long positions, double seconds,
                                  Path export, MetricsLog metrics, Progress progress) {
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("steps", state.step());
        summary.put("train_loss", state.lastLoss());
        if (evaluated) {
            summary.put("eval_loss", evalLoss);
            summary.put("eval_perplexity", Math.exp(evalLoss));
        }
        summary.put("target_tokens", targetTokens);
        summary.put("tokens", positions);
        summary.put("seconds", seconds);
        summary.put("skipped_steps", state.skippedSteps());
        metrics.event("summary", summary);
        progress.message(String.format(Locale.ROOT, "train: done: %d steps, last loss %.4f, %s, %s; model in %s",
                state.step(), state.lastLoss(),
                !evaluated ? "no eval data" : String.format(Locale.ROOT, "eval loss %.4f (perplexity %.2f)", evalLoss, Math.exp(evalLoss)),
                positions == 0 ? "no step left to train" : String.format(Locale.ROOT, "%.0f tokens/s over %.1f s", positions / seconds, seconds),
                export));
    }

    /** True when a signal reached any rank: all ranks then stop after the same step. */
    private boolean stopRequested() {
        return comm.anyRank(stop.requested());
    }

    /** Every rank must resume from the same step and data position, else the ranks would disagree forever. */
    private void checkSameOnAllRanks(TrainerState state) {
        if (!comm.sameOnAllRanks(state.step(), state.epoch(), state.nextSequence())) {
            throw new IllegalStateException("rank " + comm.rank() + " resumed at step " + state.step() + " but the ranks disagree "
                    + "(is output_dir on storage all ranks see?)");
        }
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
}
