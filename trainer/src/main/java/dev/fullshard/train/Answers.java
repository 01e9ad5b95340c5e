package dev.fullshard.train;

import dev.fullshard.data.TokenizedDataset;
import dev.fullshard.data.Tokenizer;
import dev.fullshard.model.CausalLm;
import dev.fullshard.model.Generator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Exact-match answers: for each example, the model continues the example's prompt greedily, and the
 * answer is exact when it is the example's first answer (its first run of target tokens) word for word
 * and then stops. The prompt is everything before the first target, exactly as the model saw it in
 * training (BOS, template, earlier turns).
 */
public final class Answers {
    /** Tokens generated past the expected answer's length: enough to see that an answer does not stop. */
    public static final int EXTRA_TOKENS = 4;

    /**
     * One example's outcome.
     *
     * @param prompt   the prompt's text
     * @param expected the expected answer's text
     * @param answer   what the model wrote, up to its end marker
     * @param stopped  whether it wrote the end marker
     */
    public record Answer(String prompt, String expected, String answer, boolean stopped) {
        public boolean exact() {
            return stopped && answer.equals(expected);
        }
    }

    /** One example's prompt and expected answer, as token ids. */
    public record Question(long[] prompt, long[] expected) {
    }

    private Answers() {
    }

    /** The question of each example that has a target after at least one prompt token, in dataset order. */
    public static List<Question> questions(TokenizedDataset data) {
        List<Question> out = new ArrayList<>();
        for (int e = 0; e < data.size(); e++) {
            int first = 0, length = data.length(e);
            while (first < length && !data.isTarget(e, first)) first++;
            if (first == 0 || first == length) continue;
            int end = first;
            while (end < length && data.isTarget(e, end)) end++;
            long[] tokens = data.tokens(e);
            out.add(new Question(Arrays.copyOfRange(tokens, 0, first), Arrays.copyOfRange(tokens, first, end)));
        }
        return out;
    }

    /**
     * The model's greedy answer to {@code q}. An expected answer that ends with the end marker must stop
     * there; one cut short by max_seq_len is compared over its own length.
     */
    public static Answer answer(CausalLm lm, Tokenizer tokenizer, Question q, long eos) {
        long[] expected = q.expected();
        boolean endsWithEos = expected[expected.length - 1] == eos;
        int maxNew = endsWithEos ? expected.length + EXTRA_TOKENS : expected.length;
        long[] generated = Generator.generate(lm, q.prompt(), maxNew, Generator.Sampling.greedy(), eos, t -> { });
        boolean stopped = generated.length > 0 && generated[generated.length - 1] == eos;
        long[] text = stopped ? Arrays.copyOf(generated, generated.length - 1) : generated;
        long[] expectedText = endsWithEos ? Arrays.copyOf(expected, expected.length - 1) : expected;
        return new Answer(tokenizer.text(q.prompt()), tokenizer.text(expectedText), tokenizer.text(text), stopped || !endsWithEos);
    }
}
