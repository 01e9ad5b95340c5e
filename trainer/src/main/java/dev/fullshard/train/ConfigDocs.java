package dev.fullshard.train;

import dev.fullshard.config.Key;

import java.util.List;

/**
 * Renders {@code docs/config.md}, the train.yaml reference, from the declarations in {@link ConfigKeys}, so the
 * docs cannot drift from what the loader accepts. {@code ConfigDocsTest} fails when the committed file is stale
 * and says how to write it again.
 */
final class ConfigDocs {
    private static final String INTRO = """
            # train.yaml reference

            <!-- Generated from the key declarations in trainer/src/main/java/dev/fullshard/train/ConfigKeys.java
                 by ConfigDocs; do not edit by hand (ConfigDocsTest says how to regenerate it). -->

            `fullshard train train.yaml [key.sub=value ...]` reads the file, applies the command-line overrides in
            order (`optimizer.lr=1e-4`, `training.max_steps=20`, `data.train_files=[a.jsonl,b.jsonl]` or
            `data.train_files=a.jsonl,b.jsonl`), then checks every key. Override values are read as YAML values, so
            numbers, booleans and `[a, b]` lists mean what they mean in the file. Relative paths (in the file and in
            overrides) resolve against the YAML file's folder; `~/` is the home folder. Unknown keys, wrong types and
            impossible values are all reported at once, one per line, each starting with the file and where:

                train.yaml:8:3: training.micro_batch_sise: unknown key (did you mean micro_batch_size?); allowed in training: epochs, max_steps, ...
                train.yaml:12:7: optimizer.lr: expected a number > 0, found the number -1e-4
                train.yaml: override optimizer.lr=abc: expected a number > 0, found the string "abc"

            A key that belongs to another section is pointed there (`training.lr` → `optimizer.lr`), and a few
            Hugging Face / torchtune names are translated (`learning_rate` → `optimizer.lr`). Duplicate keys are
            errors. Numbers may be quoted (`"1e-4"`, as PyYAML writes them). The effective config (every key,
            defaults filled in, absolute paths) is saved as `config.yaml` in `logging.output_dir` and loads back to
            an equal config. The dtype keys (`mixed_precision`, `model.compute_dtype`, `distributed.reduce_dtype`)
            take `fp32` or `f32`, `bf16`, and `fp16` or `f16`; `config.yaml` spells them `fp32`, `bf16`, `fp16`. How
            the `distributed` keys split the model across ranks: [sharding.md](sharding.md).

            """;

    private ConfigDocs() {
    }

    /** The whole of {@code docs/config.md}. */
    static String markdown() {
        StringBuilder md = new StringBuilder(INTRO);
        md.append("| key | type | default | allowed | meaning |\n| --- | --- | --- | --- | --- |\n");
        for (ConfigKeys.Setting<?> setting : ConfigKeys.ALL) {
            Key<?> key = setting.key();
            md.append("| `").append(key.name()).append("` | ").append(cell(key.type().name()))
                    .append(" | ").append(defaultCell(key))
                    .append(" | ").append(key.expected().equals(key.type().expected()) ? "" : cell(key.expected()))
                    .append(" | ").append(cell(key.doc() + foreignNames(setting))).append(" |\n");
        }
        return md.toString();
    }

    private static <T> String defaultCell(Key<T> key) {
        if (key.required()) return "required";
        Object written = key.type().write(key.defaultValue());
        if (written == null) return "";
        return "`" + (written instanceof List<?> list ? list.toString() : written) + "`";
    }

    /** "; Hugging Face / torchtune: learning_rate", or nothing when other trainers' names are not translated. */
    private static String foreignNames(ConfigKeys.Setting<?> setting) {
        List<String> names = ConfigKeys.FOREIGN_NAMES.entrySet().stream().filter(e -> e.getValue() == setting)
                .map(e -> "`" + e.getKey() + "`").sorted().toList();
        return names.isEmpty() ? "" : "; Hugging Face / torchtune: " + String.join(", ", names);
    }

    /** Markdown table cells cannot hold a bare {@code |}. */
    private static String cell(String text) {
        return text.replace("|", "\\|");
    }
}
