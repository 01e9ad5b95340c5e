package dev.fullshard.train;

import java.nio.file.Path;
import java.util.List;

/**
 * A train.yaml (or a command-line override) that fullshard refuses to run with. Every problem found is
 * reported at once, one per line, each starting with the file and where in it:
 * {@code train.yaml:12:7: optimizer.lr: expected a number > 0, found -0.001} or
 * {@code train.yaml: override optimizer.lr=abc: expected a number > 0, found the string "abc"}. A file
 * that is not there says only {@code no such file: train.yaml}.
 */
public final class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Transient: Path is not serializable; the message keeps the file's name. */
    private final transient Path file;

    ConfigException(Path file, List<String> problems) {
        super(String.join("\n", problems));
        this.file = file;
    }

    ConfigException(Path file, String problem, Throwable cause) {
        super(problem, cause);
        this.file = file;
    }

    /** The YAML file the problems are in (overrides are reported against it too). */
    public Path file() {
        return file;
    }

    /** One line per problem, each starting with the file; the message is these joined by newlines. */
    public List<String> problems() {
        return getMessage().lines().toList();
    }
}
