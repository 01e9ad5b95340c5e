package dev.fullshard.io;

import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelConfig.Architecture;
import dev.fullshard.model.ModelPresets;
import dev.fullshard.model.Parameters;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Load a Hugging Face directory into parameters and save them again: the same bytes come back. */
@ExtendWith(NoLeakedTensors.class)
class HfModelRoundTripTest {
    @TempDir
    Path tmp;

    private static List<WritableTensor> writable(Parameters p) {
        List<WritableTensor> out = new ArrayList<>();
        p.asMap().forEach((name, t) -> out.add(WritableTensor.of(name, t)));
        return out;
    }

    @ParameterizedTest
    @EnumSource(Architecture.class)
    void loadThenSaveGivesBitIdenticalTensorsAndConfig(Architecture arch) throws Exception {
        ModelConfig config = ModelPresets.TINY.config(arch);
        Path original = tmp.resolve("original"), copy = tmp.resolve("copy");
        try (TensorScope ignored = TensorScope.open()) {
            CheckpointWriter.write(original, config, writable(Parameters.random(config, 3, DType.BF16)), CheckpointWriter.DEFAULT_MAX_SHARD_BYTES);
            HfModel loaded = HfModel.load(original, DType.BF16);
            assertThat(loaded.config()).isEqualTo(config);
            CheckpointWriter.write(copy, loaded.config(), writable(loaded.parameters()), CheckpointWriter.DEFAULT_MAX_SHARD_BYTES);
        }
        try (SafetensorsFile a = SafetensorsFile.open(original.resolve("model.safetensors"));
             SafetensorsFile b = SafetensorsFile.open(copy.resolve("model.safetensors"))) {
            assertThat(b.entries().size()).isEqualTo(a.entries().size());
            for (String name : Parameters.shapes(config).keySet()) {
                assertThat(b.data(name).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).as(name)
                        .isEqualTo(a.data(name).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            }
        }
        assertThat(Files.readAllBytes(copy.resolve("model.safetensors"))).isEqualTo(Files.readAllBytes(original.resolve("model.safetensors")));
        assertThat(Files.readString(copy.resolve("config.json"))).isEqualTo(Files.readString(original.resolve("config.json")));
    }
}
