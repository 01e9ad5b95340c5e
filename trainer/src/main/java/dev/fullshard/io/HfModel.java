package dev.fullshard.io;

import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.Parameters;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** A Hugging Face model directory read into memory: its config and owned parameter tensors. */
public record HfModel(ModelConfig config, Parameters parameters) {

    /**
     * Reads {@code config.json} and the safetensors weights of {@code dir}, checks that the weights are
     * exactly the config's (every difference listed), and copies each into an owned tensor of {@code dtype}
     * (owned by the open {@code TensorScope}, if any). A tied checkpoint's redundant {@code lm_head.weight} is skipped.
     */
    public static HfModel load(Path dir, DType dtype) throws IOException {
        ModelConfig config = HfConfig.read(dir);
        try (CheckpointReader reader = CheckpointReader.open(dir)) {
            WeightNames.check(config, reader.shapes(), dir);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : Parameters.shapes(config).keySet()) tensors.put(name, reader.copy(name, dtype));
            return new HfModel(config, Parameters.of(config, tensors));
        }
    }
}
