package dev.fullshard.model;

import dev.fullshard.model.TinyModels.Variant;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.GradMode;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The model frees everything it makes: a training loop leaves {@link Tensor#liveCount()} where it
 * started after every step, with and without checkpointing, with converted (float32 → bf16) weights.
 */
@ExtendWith(NoLeakedTensors.class)
class ModelMemoryTest {
    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"QWEN2_TIED_BIAS", "QWEN3_QK_NORM"})
    void aTrainingLoopLeavesNoTensorsBehind(Variant variant) {
        ModelConfig c = variant.config;
        try (TensorScope s = TensorScope.open()) {
            Parameters params = TinyModels.randomParameters(c, 61, DType.F32);
            Parameters grads = Parameters.zeros(c, DType.F32);
            Tensor tokens = TinyModels.tokens(c, 62, 2, 6), targets = TinyModels.targets(c, 63, 2, 6);
            CausalLm.Options[] options = {
                    CausalLm.Options.defaults(),
                    CausalLm.Options.defaults().withComputeDtype(DType.BF16).withCheckpointing(true).withLossChunkTokens(5),
                    CausalLm.Options.defaults().withComputeDtype(DType.BF16).withCheckpointing(layer -> layer == 0).withLabelSmoothing(0.1)};
            long live = Tensor.liveCount();
            for (int step = 0; step < 6; step++) {
                CausalLm model = new CausalLm(params, options[step % options.length]);
                grads.zero();
                model.forwardBackward(tokens, targets, grads);
                assertThat(Tensor.liveCount()).as("live tensors after step %d", step).isEqualTo(live);
                model.logits(tokens).close();
                model.loss(tokens, targets);
                assertThat(Tensor.liveCount()).as("live tensors after inference %d", step).isEqualTo(live);
            }
        }
    }

    /** The model switches libtorch's autograd off while it works and puts the caller's setting back. */
    @Test
    void gradModeIsRestored() {
        ModelConfig c = Variant.LLAMA_UNTIED.config;
        boolean before = GradMode.isEnabled();
        try (TensorScope s = TensorScope.open()) {
            CausalLm model = new CausalLm(TinyModels.randomParameters(c, 64, DType.F32), CausalLm.Options.defaults());
            Tensor tokens = TinyModels.tokens(c, 65, 1, 4), targets = TinyModels.targets(c, 66, 1, 4);
            for (boolean enabled : new boolean[]{true, false}) {
                GradMode.setEnabled(enabled);
                model.forwardBackward(tokens, targets, Parameters.zeros(c, DType.F32));
                assertThat(GradMode.isEnabled()).isEqualTo(enabled);
            }
        } finally {
            GradMode.setEnabled(before);
        }
    }

    /**
     * Informational, not asserted: forward + backward tokens per second of a small model on this
     * machine's CPU (4 × 128 tokens, D 128, 2 layers, vocabulary 1024), float32 and bfloat16.
     */
    @Test
    void throughputOfASmallModel() {
        ModelConfig c = new ModelConfig(ModelConfig.Architecture.LLAMA, 1024, 128, 352, 2, 4, 2, 32, 1e-5, 500000.0,
                TinyModels.LLAMA3_SCALING, 2048, false, false, false, null, 1, 2);
        try (TensorScope s = TensorScope.open()) {
            Parameters params = Parameters.random(c, 67, DType.F32);
            Parameters grads = Parameters.zeros(c, DType.F32);
            Tensor tokens = TinyModels.tokens(c, 68, 4, 128), targets = TinyModels.targets(c, 69, 4, 128);
            for (DType dtype : new DType[]{DType.F32, DType.BF16}) {
                CausalLm model = new CausalLm(params, CausalLm.Options.defaults().withComputeDtype(dtype));
                model.forwardBackward(tokens, targets, grads);                 // warm-up
                int steps = 3;
                long start = System.nanoTime();
                double loss = 0;
                for (int i = 0; i < steps; i++) loss = model.forwardBackward(tokens, targets, grads).value();
                double seconds = (System.nanoTime() - start) / 1e9;
                System.out.printf("[throughput] %s: %.0f tokens/s forward+backward (loss %.3f, ln V = %.3f)%n",
                        dtype, steps * 512 / seconds, loss, Math.log(c.vocabSize()));
                assertThat(loss).isFinite();
            }
        }
    }
}
