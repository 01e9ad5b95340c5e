package dev.fullshard.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A checkpoint file (safetensors, index or config.json) that fullshard refuses to trust. The message
 * always starts with the file, then says what is wrong and what was expected.
 */
public final class CheckpointFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    /** Transient: Path is not serializable; the message keeps the file's name. */
    private final transient Path file;

    public CheckpointFormatException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public CheckpointFormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    /** The file (or checkpoint directory) the problem is in. */
    public Path file() {
        return file;
    }
}
