package dev.fullshard.train;

import dev.fullshard.dist.Communicator;
import dev.fullshard.io.SafetensorsWriter;
import dev.fullshard.io.WritableTensor;
import dev.fullshard.optim.AdamW;
import dev.fullshard.optim.LossScaler;
import dev.fullshard.shard.CheckpointShards;
import dev.fullshard.shard.ShardLayout;
import dev.fullshard.shard.ShardedModel;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Saving and resuming a run's state on every rank ({@link CheckpointShards} describes the files).
 *
 * <p>Saving: rank 0 makes the checkpoint's hidden folder; one rank per shard writes that shard's files
 * into it (synced); the ranks agree that all succeeded; rank 0 adds {@code sharding.json} and the
 * trainer state and renames the folder into place. A failure on any rank abandons the folder on all,
 * so a {@code checkpoint-*} folder is always complete. Resuming reads each rank's pieces from the
 * files, whatever world size wrote them.
 */
final class TrainingCheckpoint {
    private static final String SCALER_PREFIX = "loss_scaler.";
    private static final List<String> MOMENTS = List.of("exp_avg.", "exp_avg_sq.");

    private TrainingCheckpoint() {
    }

    /** Writes {@code checkpoint-<step>}; every rank calls it; returns the checkpoint's directory. */
    static Path save(Communicator comm, CheckpointStore store, ShardedModel model, AdamW optimizer, LossScaler scaler, TrainerState state,
                     int keepNewest) throws IOException {
        int shards = model.layout().shards();
        if (comm.isMain()) store.begin(state.step());
        comm.barrier();
        Path temporary = store.temporary(state.step());
        Exception failure = null;
        if (model.writesShard()) {
            try {
                writeShard(temporary, model.shardRank(), model, optimizer, scaler);
            } catch (IOException | RuntimeException e) {
                failure = e;
            }
        }
        long[] failed = {failure != null ? 1 : 0};
        comm.allReduceSum(failed);
        if (failed[0] > 0) {
            if (comm.isMain()) store.abandon(temporary);
            comm.barrier();
            throw new IOException("checkpoint " + state.step() + " was not saved: writing failed on " + failed[0] + " rank(s)"
                    + (failure != null ? ", this one with: " + failure.getMessage() : ""), failure);
        }
        Path saved = null;
        if (comm.isMain()) {
            if (shards > 1) Files.write(temporary.resolve(CheckpointShards.SHARDING_FILE), CheckpointShards.shardingJson(shards));
            saved = store.publish(temporary, state, keepNewest);
        }
        comm.barrier(); // the checkpoint is complete before any rank goes on (or exits)
        return saved != null ? saved : store.directory(state.step());
    }

    private static void writeShard(Path dir, int rank, ShardedModel model, AdamW optimizer, LossScaler scaler) throws IOException {
        ShardLayout layout = model.layout();
        int shards = layout.shards();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (ShardLayout.Unit u : layout.units()) for (ShardLayout.Param p : u.params()) shapes.put(p.name(), p.shape());
        try (TensorScope ignored = TensorScope.open()) {
            List<WritableTensor> weights = new ArrayList<>(), moments = new ArrayList<>();
            Map<String, Tensor> state = optimizer.state();
            // Replicated: whole parameters in their own shapes, so the files read like a Hugging Face model's.
            for (var e : model.masterPieces().entrySet()) {
                String name = e.getKey();
                weights.add(WritableTensor.of(name, shaped(e.getValue(), shapes.get(name), shards)));
            }
            if (rank == 0) {
                moments.add(WritableTensor.of("step", state.get("step")));
                if (scaler != null) scaler.state().forEach((k, v) -> moments.add(WritableTensor.of(SCALER_PREFIX + k, v)));
            }
            for (String prefix : MOMENTS) {
                for (String name : model.masterPieces().keySet()) {
                    moments.add(WritableTensor.of(prefix + name, shaped(state.get(prefix + name), shapes.get(name), shards)));
                }
            }
            SafetensorsWriter.write(dir.resolve(CheckpointShards.modelFile(rank, shards)), weights);
            SafetensorsWriter.write(dir.resolve(CheckpointShards.optimizerFile(rank, shards)), moments);
        }
    }

    private static Tensor shaped(Tensor piece, long[] shape, int shards) {
        return shards == 1 ? piece.view(shape) : piece;
    }

    /** Loads this rank's weights, optimizer state and loss scale from {@code checkpoint}; returns its trainer state. */
    static TrainerState load(Path checkpoint, ShardedModel model, AdamW optimizer, LossScaler scaler) throws IOException {
        TrainerState state = CheckpointStore.state(checkpoint);
        try (CheckpointShards files = CheckpointShards.open(checkpoint, model.config()); TensorScope ignored = TensorScope.open()) {
            model.load(files.source(""));
            Map<String, Tensor> saved = new LinkedHashMap<>();
            Tensor step = files.shared("step");
            if (step == null) throw new IOException("checkpoint " + checkpoint + " has no optimizer step (in " + CheckpointShards.optimizerFile(0, files.shards()) + ")");
            saved.put("step", step);
            for (String prefix : MOMENTS) {
                for (ShardLayout.Piece p : model.pieces()) {
                    Tensor t = Tensor.empty(DType.F32, Device.CPU, p.length());
                    files.source(prefix).read(p.name(), p.paramStart(), p.length(), t);
                    saved.put(prefix + p.name(), t);
                }
            }
            optimizer.load(saved);
            if (scaler != null) {
                Map<String, Tensor> scalerState = new LinkedHashMap<>();
                for (String name : files.sharedNames(SCALER_PREFIX)) scalerState.put(name.substring(SCALER_PREFIX.length()), files.shared(name));
                if (!scalerState.isEmpty()) scaler.load(scalerState);
            }
        }
        return state;
    }
}
