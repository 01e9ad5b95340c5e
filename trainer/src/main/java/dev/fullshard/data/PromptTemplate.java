package dev.fullshard.data;

/**
 * How an instruction example becomes a prompt; the output follows the prompt and is the only part
 * trained on.
 *
 * <p>Built in: {@code default}, {@code zh} and {@code alpaca}, each with an input section that appears
 * only when the example's {@code input} is non-empty. Anything else is a custom template: a string with
 * {@code {instruction}}, optionally {@code {input}}, and {@code {output}}; the prompt is the text before
 * {@code {output}} (only whitespace may follow it: the example ends with EOS there).
 *
 * @param name the built-in name, or "custom"
 * @param text the template as written (for the token-cache key and messages)
 */
public record PromptTemplate(String name, String text) {
    public static final String DEFAULT = "### Instruction\n{instruction}\n\n### Response\n";
    public static final String DEFAULT_INPUT = "### Input\n{input}\n\n";
    public static final String ZH = "### 指令\n{instruction}\n\n### 回答\n";
    public static final String ZH_INPUT = "### 输入\n{input}\n\n";
    public static final String ALPACA = "Below is an instruction that describes a task. "
            + "Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\n{instruction}\n\n### Response:\n";
    public static final String ALPACA_WITH_INPUT = "Below is an instruction that describes a task, paired with an input "
            + "that provides further context. Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n";

    private static final String INSTRUCTION = "{instruction}", INPUT = "{input}", OUTPUT = "{output}";

    /** A built-in name ({@code default}, {@code zh}, {@code alpaca}) or a custom template string. */
    public static PromptTemplate of(String nameOrTemplate) {
        return switch (nameOrTemplate) {
            case "default" -> new PromptTemplate("default", DEFAULT + "|" + DEFAULT_INPUT);
            case "zh" -> new PromptTemplate("zh", ZH + "|" + ZH_INPUT);
            case "alpaca" -> new PromptTemplate("alpaca", ALPACA + "|" + ALPACA_WITH_INPUT);
            default -> custom(nameOrTemplate);
        };
    }

    private static PromptTemplate custom(String template) {
        int out = template.indexOf(OUTPUT);
        if (!template.contains(INSTRUCTION) || out < 0) {
            throw new IllegalArgumentException("instruction template \"" + template + "\" is neither a built-in name (default, zh, alpaca) "
                    + "nor a template with {instruction} and {output}");
        }
        if (template.indexOf(INSTRUCTION) > out || template.indexOf(INPUT) > out) {
            throw new IllegalArgumentException("instruction template \"" + template + "\": {instruction} and {input} must come before {output}");
        }
        if (template.indexOf(OUTPUT, out + 1) >= 0 || !template.substring(out + OUTPUT.length()).isBlank()) {
            throw new IllegalArgumentException("instruction template \"" + template + "\": {output} must appear once, at the end "
                    + "(the example ends with EOS after the output)");
        }
        return new PromptTemplate("custom", template);
    }

    /** Whether a non-empty {@code input} has a place in this template. */
    public boolean acceptsInput() {
        return !name.equals("custom") || text.contains(INPUT);
    }

    /** The prompt for one example; {@code input} is "" when the example has none. */
    public String prompt(String instruction, String input) {
        boolean hasInput = !input.isEmpty();
        String t = switch (name) {
            case "default" -> hasInput ? DEFAULT.replace("### Response\n", DEFAULT_INPUT + "### Response\n") : DEFAULT;
            case "zh" -> hasInput ? ZH.replace("### 回答\n", ZH_INPUT + "### 回答\n") : ZH;
            case "alpaca" -> hasInput ? ALPACA_WITH_INPUT : ALPACA;
            default -> text.substring(0, text.indexOf(OUTPUT));
        };
        // One pass, so that braces inside the instruction text are never substituted again.
        StringBuilder sb = new StringBuilder();
        int i = 0;
        while (i < t.length()) {
            if (t.startsWith(INSTRUCTION, i)) {
                sb.append(instruction);
                i += INSTRUCTION.length();
            } else if (t.startsWith(INPUT, i)) {
                sb.append(input);
                i += INPUT.length();
            } else {
                sb.append(t.charAt(i++));
            }
        }
        return sb.toString();
    }
}
