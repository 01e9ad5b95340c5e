package dev.fullshard.shard;

import dev.fullshard.data.Tokenizer;
import dev.fullshard.dist.Communicator;
import dev.fullshard.io.CheckpointWriter;
import dev.fullshard.io.HfConfig;
import dev.fullshard.io.WritableTensor;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A Hugging Face directory from a {@link ShardedModel}: the weights in the compute dtype (fp32 when
 * training in fp32) and the tokenizer files, written by rank 0 as the ranks gather the full weights one
 * unit at a time.
 */
public final class HfExport {
    private HfExport() {
    }

    /**
     * Every rank calls this; rank 0 replaces {@code dir} (the export of an earlier run) with the model's
     * weights and the tokenizer files found in {@code modelDir}.
     */
    public static void write(Communicator comm, ShardedModel model, DType computeDtype, Path dir, Path modelDir) throws IOException {
        DType dtype = computeDtype == DType.F16 || computeDtype == DType.BF16 ? computeDtype : DType.F32;
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
                    Tokenizer.copyFiles(modelDir, target);
                    HfConfig.keepTransformersVersion(modelDir, target);
                    Path generation = modelDir.resolve("generation_config.json");
                    if (Files.isRegularFile(generation)) Files.copy(generation, target.resolve(generation.getFileName()), StandardCopyOption.REPLACE_EXISTING);
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

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
