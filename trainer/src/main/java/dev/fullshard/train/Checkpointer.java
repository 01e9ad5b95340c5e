package dev.fullshard.train;

import dev.fullshard.dist.Communicator;
import dev.fullshard.optim.AdamW;
import dev.fullshard.optim.LossScaler;
import dev.fullshard.shard.ShardedModel;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;

/** A run's checkpoints: where it resumes from, and saving one (by every rank holding a shard). */
final class Checkpointer {
    private final Communicator comm;
    private final CheckpointStore store;
    private final ShardedModel model;
    private final AdamW optimizer;
    private final LossScaler scaler;
    private final int saveTotalLimit;
    /** The checkpoint this run resumed from, or null. */
    private Path resumedFrom;

    /** {@code scaler} is null unless training in fp16. */
    Checkpointer(Communicator comm, CheckpointStore store, ShardedModel model, AdamW optimizer, LossScaler scaler, int saveTotalLimit) {
        this.comm = comm;
        this.store = store;
        this.model = model;
        this.optimizer = optimizer;
        this.scaler = scaler;
        this.saveTotalLimit = saveTotalLimit;
    }

    /** Loads the checkpoint {@code resume} names into the model, optimizer and scaler; the state to go on from. */
    TrainerState resume(TrainConfig.Resume resume, PrintWriter out) throws IOException {
        Optional<Path> from = switch (resume) {
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

    /** The checkpoint the run resumed from, or null. */
    Path resumedFrom() {
        return resumedFrom;
    }

    Path save(TrainerState state, Progress progress) throws IOException {
        Path saved = TrainingCheckpoint.save(comm, store, model, optimizer, scaler, state, saveTotalLimit);
        progress.message("checkpoint: " + saved);
        return saved;
    }
}
