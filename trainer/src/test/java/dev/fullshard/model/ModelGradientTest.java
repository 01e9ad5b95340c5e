package dev.fullshard.model;

import dev.fullshard.model.TinyModels.Variant;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Whole-model gradients of tiny random two-layer models (every architecture variant: GQA, MQA, tied and
 * untied heads, attention biases, q/k norms, llama3 rope) against finite differences in float64 and
 * libtorch's autograd through {@link AtenForward}; activation checkpointing must not change a bit.
 */
@ExtendWith(NoLeakedTensors.class)
class ModelGradientTest {
    private static final int BATCH = 2, SEQ = 5;
    /** Chunks of 4 over 10 tokens: two full chunks and a partial one. */
    private static final int CHUNK = 4;
    private static final double SMOOTHING = 0.1;

    private static CausalLm model(Parameters p, DType dtype) {
        return new CausalLm(p, CausalLm.Options.defaults().withComputeDtype(dtype).withLossChunkTokens(CHUNK).withLabelSmoothing(SMOOTHING));
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void everyParameterGradientMatchesAutogradAndFiniteDifferences(Variant variant) {
        ModelConfig c = variant.config;
        try (TensorScope s = TensorScope.open()) {
            Parameters p = TinyModels.randomParameters(c, 31, DType.F64);
            Tensor tokens = TinyModels.tokens(c, 32, BATCH, SEQ), targets = TinyModels.targets(c, 33, BATCH, SEQ);
            CausalLm model = model(p, DType.F64);
            Parameters grads = Parameters.zeros(c, DType.F64);
            CausalLm.Loss loss = model.forwardBackward(tokens, targets, grads);

            // The loss itself, against the autograd graph's forward value.
            Map<String, Tensor> oracle = new LinkedHashMap<>();
            double[] atenLoss = new double[1];
            oracle.putAll(GradCheck.autograd(p.asMap(), leaves -> {
                Tensor l = AtenForward.loss(c, leaves, tokens, targets, SMOOTHING);
                atenLoss[0] = l.item();
                return l;
            }));
            assertThat(loss.value()).isCloseTo(atenLoss[0], org.assertj.core.data.Offset.offset(1e-12));
            assertThat(loss.value()).isCloseTo(model.loss(tokens, targets).value(), org.assertj.core.data.Offset.offset(1e-13));

            GradCheck.assertClose("model " + variant + " vs autograd", grads.asMap(), oracle, 1e-11, 1e-9);
            // Finite differences of the forward-only loss, 6 coordinates per tensor (first, last, 4 random).
            GradCheck.finiteDifferences("model " + variant, p.asMap(), grads.asMap(), 6,
                    ignored -> model.loss(tokens, targets).value(), 1e-7, 1e-6);
        }
    }

    /** float32 gradients against the float64 ones of the same values (autograd-checked above). */
    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"LLAMA_UNTIED", "QWEN2_TIED_BIAS", "QWEN3_QK_NORM"})
    void float32GradientsMatchFloat64(Variant variant) {
        ModelConfig c = variant.config;
        try (TensorScope s = TensorScope.open()) {
            Parameters p64 = TinyModels.randomParameters(c, 34, DType.F64);
            Parameters p32 = TinyModels.convert(p64, DType.F32), p32as64 = TinyModels.convert(p32, DType.F64);
            Tensor tokens = TinyModels.tokens(c, 35, BATCH, SEQ), targets = TinyModels.targets(c, 36, BATCH, SEQ);
            Parameters g32 = Parameters.zeros(c, DType.F32), g64 = Parameters.zeros(c, DType.F64);
            model(p32, DType.F32).forwardBackward(tokens, targets, g32);
            model(p32as64, DType.F64).forwardBackward(tokens, targets, g64);
            GradCheck.assertClose("model " + variant + " float32 vs float64", g32.asMap(), g64.asMap(), 2e-6, 1e-4);
        }
    }

    /** Checkpointing all blocks, or every other one, recomputes exactly the same forward: equal bits. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F64", "F32", "BF16"})
    void checkpointingDoesNotChangeAnyBit(DType dtype) {
        ModelConfig c = Variant.QWEN3_QK_NORM.config;
        try (TensorScope s = TensorScope.open()) {
            Parameters p = TinyModels.randomParameters(c, 37, DType.F32);
            Tensor tokens = TinyModels.tokens(c, 38, BATCH, SEQ), targets = TinyModels.targets(c, 39, BATCH, SEQ);
            CausalLm.Options base = CausalLm.Options.defaults().withComputeDtype(dtype).withLossChunkTokens(CHUNK).withLabelSmoothing(SMOOTHING);
            Parameters plain = Parameters.zeros(c, DType.F32);
            double lossPlain = new CausalLm(p, base).forwardBackward(tokens, targets, plain).value();
            for (var options : new CausalLm.Options[]{base.withCheckpointing(true), base.withCheckpointing(layer -> layer % 2 == 1)}) {
                Parameters checkpointed = Parameters.zeros(c, DType.F32);
                double loss = new CausalLm(p, options).forwardBackward(tokens, targets, checkpointed).value();
                assertThat(loss).isEqualTo(lossPlain);
                for (String name : plain.names()) {
                    assertThat(checkpointed.get(name).toDoubleArray()).as(dtype + " " + name).containsExactly(plain.get(name).toDoubleArray());
                }
            }
        }
    }

    /**
     * Gradients are added into the buffers: two identical calls give twice one call (up to the order of
     * the additions: a tied embedding's buffer receives several contributions per call).
     */
    @Test
    void gradientsAccumulateIntoTheBuffers() {
        ModelConfig c = Variant.LLAMA_BIAS_MQA.config;
        try (TensorScope s = TensorScope.open()) {
            CausalLm model = model(TinyModels.randomParameters(c, 40, DType.F64), DType.F64);
            Tensor tokens = TinyModels.tokens(c, 41, BATCH, SEQ), targets = TinyModels.targets(c, 42, BATCH, SEQ);
            Parameters once = Parameters.zeros(c, DType.F64), twice = Parameters.zeros(c, DType.F64);
            model.forwardBackward(tokens, targets, once);
            model.forwardBackward(tokens, targets, twice);
            model.forwardBackward(tokens, targets, twice);
            for (String name : once.names()) {
                double[] a = once.get(name).toDoubleArray(), b = twice.get(name).toDoubleArray();
                for (int i = 0; i < a.length; i++) assertThat(b[i]).as(name).isCloseTo(2 * a[i], org.assertj.core.data.Offset.offset(1e-15 * (1 + Math.abs(b[i]))));
            }
        }
    }

    /**
     * An explicit divisor: with the sum (divisor 1) the gradients are count × the mean's; two
     * micro-batches each divided by the total count add up to the gradient of the mean over both.
     */
    @Test
    void divisorScalesTheGradientForAccumulation() {
        ModelConfig c = Variant.QWEN2_TIED_BIAS.config;
        try (TensorScope s = TensorScope.open()) {
            CausalLm model = model(TinyModels.randomParameters(c, 43, DType.F64), DType.F64);
            Tensor tokens = TinyModels.tokens(c, 44, 2, SEQ), targets = TinyModels.targets(c, 45, 2, SEQ);
            Parameters mean = Parameters.zeros(c, DType.F64), sum = Parameters.zeros(c, DType.F64);
            CausalLm.Loss m = model.forwardBackward(tokens, targets, mean);
            CausalLm.Loss total = model.forwardBackward(tokens, targets, sum, 1.0);
            assertThat(total.value()).isCloseTo(m.value() * m.tokens(), org.assertj.core.data.Offset.offset(1e-12));
            assertThat(total.sum()).isEqualTo(m.sum());
            for (String name : mean.names()) {
                double[] a = mean.get(name).toDoubleArray(), b = sum.get(name).toDoubleArray();
                for (int i = 0; i < a.length; i++) assertThat(b[i]).as(name).isCloseTo(a[i] * m.tokens(), org.assertj.core.data.Offset.offset(1e-12 * (1 + Math.abs(b[i]))));
            }
            // Accumulation: each row of the batch as its own micro-batch, divided by the batch's count.
            Parameters accumulated = Parameters.zeros(c, DType.F64);
            double lossSum = 0;
            for (int row = 0; row < 2; row++) {
                Tensor tok = tokens.narrow(0, row, 1).contiguous(), tgt = targets.narrow(0, row, 1).contiguous();
                lossSum += model.forwardBackward(tok, tgt, accumulated, m.tokens()).value();
            }
            assertThat(lossSum).isCloseTo(m.value(), org.assertj.core.data.Offset.offset(1e-12));
            GradCheck.assertClose("two micro-batches vs one batch", accumulated.asMap(), mean.asMap(), 1e-13, 1e-11);
        }
    }

    @Test
    void badInputsAreRejectedWithTheReason() {
        ModelConfig c = Variant.LLAMA_UNTIED.config;
        try (TensorScope s = TensorScope.open()) {
            CausalLm model = model(TinyModels.randomParameters(c, 46, DType.F32), DType.F32);
            Parameters grads = Parameters.zeros(c, DType.F32);
            Tensor tokens = TinyModels.tokens(c, 47, 1, 4);
            assertThatThrownBy(() -> model.forwardBackward(tokens, Tensor.of(new long[]{-100, -100, -100, -100}, 1, 4), grads))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("every target is -100");
            assertThatThrownBy(() -> model.forwardBackward(tokens, Tensor.of(new long[]{1, 2, 37, 0}, 1, 4), grads))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("target 37 at position 2");
            assertThatThrownBy(() -> model.forwardBackward(Tensor.of(new long[]{1, -1, 3, 0}, 1, 4), tokens, grads))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("token -1 at position 1");
            assertThatThrownBy(() -> model.forwardBackward(tokens, Tensor.of(new long[]{1, 2, 3}, 1, 3), grads))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("targets must be int64 of the tokens' shape");
            assertThatThrownBy(() -> model.forwardBackward(tokens, tokens, Parameters.zeros(Variant.QWEN3_QK_NORM.config, DType.F32)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("(4 problems)")
                    .hasMessageContaining("unexpected model.layers.0.self_attn.q_norm.weight");
            // All ignored is fine with an explicit divisor: zero loss, no gradient.
            CausalLm.Loss none = model.forwardBackward(tokens, Tensor.of(new long[]{-100, -100, -100, -100}, 1, 4), grads, 8);
            assertThat(none.value()).isZero();
            assertThat(none.tokens()).isZero();
        }
    }

    @Test
    void shiftLabelsTurnsHuggingFaceLabelsIntoTargets() {
        try (TensorScope s = TensorScope.open()) {
            Tensor labels = Tensor.of(new long[]{5, 6, 7, -100, 8, 9}, 2, 3);
            assertThat(CausalLm.shiftLabels(labels).toLongArray()).containsExactly(6, 7, -100, 8, 9, -100);
        }
    }
}
