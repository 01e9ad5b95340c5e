package dev.fullshard.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.bindings.CudaLibraries;
import dev.fullshard.model.Attention;
import dev.fullshard.model.CausalLm;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelConfig.Architecture;
import dev.fullshard.model.ModelPresets;
import dev.fullshard.model.Parameters;
import dev.fullshard.tensor.Cuda;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Elementwise;
import dev.fullshard.tensor.Layers;
import dev.fullshard.tensor.Reductions;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.assertj.core.data.Percentage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The model and the trainer on GPU 0 against the same computation on the CPU (skipped without a GPU;
 * {@code scripts/gpu-check.sh} runs it on a GPU machine).
 */
class CudaTrainingGpuTest {
    private static final Device GPU = Device.cuda(0);

    @TempDir
    Path tmp;

    @BeforeAll
    static void needsAGpu() {
        assumeTrue(CudaLibraries.available(), "no CUDA GPU here");
        Cuda.setDevice(GPU);
    }

    /** fp32 forward and backward of the tiny model: the loss and every parameter's gradient match the CPU's. */
    @Test
    void oneStepOnTheGpuMatchesTheCpuInFloat32() {
        ModelConfig config = ModelPresets.TINY.config(Architecture.LLAMA);
        try (TensorScope ignored = TensorScope.open()) {
            Parameters cpu = Parameters.random(config, 7, DType.F32);
            Map<String, Tensor> onGpu = new LinkedHashMap<>();
            cpu.asMap().forEach((name, t) -> onGpu.put(name, t.to(GPU)));
            Parameters gpu = Parameters.of(config, onGpu);
            long[] ids = new long[2 * 48];
            for (int i = 0; i < ids.length; i++) ids[i] = (i * 7919L) % config.vocabSize();
            Tensor tokens = Tensor.of(ids, 2, 48), targets = CausalLm.shiftLabels(tokens);

            Parameters cpuGrads = Parameters.zeros(config, DType.F32), gpuGrads = Parameters.zeros(config, DType.F32);
            Map<String, Tensor> gpuGradTensors = new LinkedHashMap<>();
            gpuGrads.asMap().forEach((name, t) -> gpuGradTensors.put(name, t.to(GPU)));
            Parameters gpuGradsOnDevice = Parameters.of(config, gpuGradTensors);
            CausalLm.Loss a = new CausalLm(cpu, CausalLm.Options.defaults()).forwardBackward(tokens, targets, cpuGrads);
            CausalLm.Loss b = new CausalLm(gpu, CausalLm.Options.defaults().withDevice(GPU).withLossChunkTokens(4096))
                    .forwardBackward(tokens, targets, gpuGradsOnDevice);
            assertThat(b.value()).isCloseTo(a.value(), Percentage.withPercentage(1e-2));
            for (String name : cpuGrads.names()) {
                Tensor expected = cpuGrads.get(name);
                double scale = Math.max(1e-3, Reductions.amax(Elementwise.abs(expected), false).item());
                assertThat(maxDiff(gpuGradsOnDevice.get(name).to(Device.CPU), expected) / scale).as(name).isLessThan(1e-3);
            }
        }
    }

    /** FlashAttention (bf16) against the matmul kernel on the same GPU, forward and backward. */
    @Test
    void flashAttentionAgreesWithTheMatmulKernel() {
        try (TensorScope ignored = TensorScope.open()) {
            Tensor q = Tensor.randn(1, DType.BF16, GPU, 2, 4, 300, 64), k = Tensor.randn(2, DType.BF16, GPU, 2, 4, 300, 64);
            Tensor v = Tensor.randn(3, DType.BF16, GPU, 2, 4, 300, 64), g = Tensor.randn(4, DType.BF16, GPU, 2, 4, 300, 64);
            Layers.AttentionResult flash = Attention.scaledDotProduct(q, k, v, true, null);
            assertThat(flash.kernel()).isEqualTo(Layers.AttentionKernel.CUDA_FLASH);
            Layers.AttentionResult math = Attention.scaledDotProduct(q.to(DType.F32), k.to(DType.F32), v.to(DType.F32), true, null, Layers.AttentionKernel.MATH);
            assertThat(maxDiff(flash.output(), math.output())).isLessThan(2e-2);
            Layers.AttentionGrads gf = Attention.scaledDotProductBackward(g, q, k, v, flash, true, null);
            Layers.AttentionGrads gm = Attention.scaledDotProductBackward(g.to(DType.F32), q.to(DType.F32), k.to(DType.F32), v.to(DType.F32), math, true, null);
            assertThat(maxDiff(gf.query(), gm.query())).isLessThan(5e-2);
            assertThat(maxDiff(gf.key(), gm.key())).isLessThan(5e-2);
            assertThat(maxDiff(gf.value(), gm.value())).isLessThan(5e-2);
        }
    }

    /** The whole trainer on the GPU (NCCL with one rank): the loss falls, the export exists, no tensor leaks. */
    @Test
    void theTrainerLearnsOnTheGpuWithoutLeaking() throws Exception {
        Path model = TinyRun.tinyModel(tmp.resolve("model"));
        Path data = TinyRun.taskData();
        Path yaml = Files.writeString(tmp.resolve("train.yaml"), """
                model: {path: %s}
                device: cuda
                mixed_precision: bf16
                data: {train_files: [%s], eval_files: [%s], max_seq_len: 128}
                training: {max_steps: 40, micro_batch_size: 4, gradient_accumulation_steps: 2}
                optimizer: {lr: 3.0e-3}
                logging: {logging_steps: 1, save_steps: 20, output_dir: %s}
                """.formatted(model, data.resolve("train.jsonl"), data.resolve("eval.jsonl"), tmp.resolve("out")));
        long live = Tensor.liveCount();
        Trainer.Result r = Trainer.run(TrainConfig.load(yaml, List.of()), StopRequest.none(), new PrintWriter(new StringWriter(), true));
        assertThat(Tensor.liveCount()).as("tensor handles left open").isEqualTo(live);
        assertThat(r.steps()).isEqualTo(40);
        List<JsonNode> lines = Files.readAllLines(tmp.resolve("out/metrics.jsonl")).stream().map(CudaTrainingGpuTest::json).toList();
        List<Double> evals = lines.stream().filter(n -> n.path("type").asText().equals("eval")).map(n -> n.path("loss").asDouble()).toList();
        assertThat(evals.getLast()).isLessThan(evals.getFirst() - 1.0);
        assertThat(lines.stream().filter(n -> n.path("type").asText().equals("train")).allMatch(n -> n.path("device_memory_used_bytes").asLong() > 0))
                .isTrue();
        assertThat(r.export().resolve("model.safetensors")).exists();
    }

    private static JsonNode json(String line) {
        try {
            return new ObjectMapper().readTree(line);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static double maxDiff(Tensor a, Tensor b) {
        return Reductions.amax(Elementwise.abs(Elementwise.sub(a.to(DType.F32), b.to(DType.F32))), false).item();
    }
}
