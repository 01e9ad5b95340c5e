package dev.fullshard.cli;

import dev.fullshard.data.ChatTemplate;
import dev.fullshard.data.TokenText;
import dev.fullshard.data.Tokenizer;
import dev.fullshard.io.HfModel;
import dev.fullshard.model.CausalLm;
import dev.fullshard.model.Generator;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.TensorScope;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code fullshard generate}: continue a prompt with a Hugging Face model directory, as a sanity check. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continue a prompt with a model directory (greedy, or temperature + top-p sampling).")
public final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Option(names = "--prompt", required = true, description = "The text to continue.")
    String prompt;

    @Option(names = "--chat", description = "Send the prompt as a user message in the model's chat template, with the generation prompt.")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "With --chat: a system message before the prompt.")
    String system;

    @Option(names = "--chat-template", defaultValue = ChatTemplate.AUTO, paramLabel = "NAME|FILE",
            description = "With --chat: auto (the model's own, else chatml), chatml, llama2 or a Jinja file (default: ${DEFAULT-VALUE}).")
    String chatTemplate;

    @Option(names = "--max-new-tokens", defaultValue = "32", description = "At most this many new tokens (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 for greedy decoding (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-p", defaultValue = "0.9", description = "Nucleus sampling mass when sampling (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    ComputeDtypeOption dtype;

    @Override
    public Integer call() throws Exception {
        if (system != null && !chat) throw new IllegalArgumentException("--system needs --chat");
        if (maxNewTokens < 1) throw new IllegalArgumentException("--max-new-tokens must be at least 1, got " + maxNewTokens);
        DType compute = dtype.value();
        Generator.Sampling sampling = new Generator.Sampling(temperature, topP, seed);
        Path model = modelOption.directory();
        try (Tokenizer tokenizer = Tokenizer.load(model); TensorScope ignored = TensorScope.open()) {
            HfModel loaded = HfModel.load(model, compute);
            CausalLm lm = new CausalLm(loaded.parameters(), CausalLm.Options.defaults().withComputeDtype(compute));
            long[] tokens = chat ? chatPrompt(tokenizer) : plainPrompt(tokenizer);
            long eos = tokenizer.eosId() >= 0 ? tokenizer.eosId() : loaded.config().eosTokenId();
            PrintWriter out = spec.commandLine().getOut();
            if (!chat) out.print(prompt);
            out.flush();
            // Shown as it is generated; the end marker is not text.
            TokenText continuation = tokenizer.textStream();
            Generator.generate(lm, tokens, maxNewTokens, sampling, eos, token -> {
                if (token == eos) return;
                out.print(continuation.append(token));
                out.flush();
            });
            out.println(continuation.finish());
        }
        return 0;
    }

    private long[] plainPrompt(Tokenizer tokenizer) {
        long[] text = tokenizer.encode(prompt);
        long bos = tokenizer.bosId(); // what the tokenizer itself prepends (none for Qwen), as in training
        return bos >= 0 ? prepend(bos, text) : text;
    }

    /** The prompt as the model was fine-tuned on chat data: the same template, ending in the generation prompt. */
    private long[] chatPrompt(Tokenizer tokenizer) {
        List<Map<String, Object>> messages = new ArrayList<>();
        if (system != null) messages.add(Map.of("role", "system", "content", system));
        messages.add(Map.of("role", "user", "content", prompt));
        return ChatTemplate.resolve(chatTemplate, tokenizer.file()).prompt(messages, tokenizer);
    }

    private static long[] prepend(long first, long[] rest) {
        long[] out = new long[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }
}
