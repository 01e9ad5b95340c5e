package dev.fullshard.data;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A training-data line that cannot be used, named as {@code file:line: problem}. With
 * {@code skipBadLines} such lines are skipped instead and counted per {@link Reason}.
 */
public final class DataException extends RuntimeException {
    /** Why a line was rejected; the skip counts in {@link LoadReport} are kept per reason. */
    public enum Reason {
        INVALID_JSON, NOT_UTF8, LINE_TOO_LONG, MISSING_FIELD, BLANK_FIELD, WRONG_TYPE, UNKNOWN_ROLE, NO_ASSISTANT_TURN, BAD_TURN_ORDER,
        INPUT_NOT_IN_TEMPLATE, TEMPLATE_REJECTED, TEMPLATE_UNSPLIT
    }

    private final Path file;
    private final long line;
    private final Reason reason;

    public DataException(Path file, long line, Reason reason, String problem) {
        super(file + ":" + line + ": " + problem);
        this.file = file;
        this.line = line;
        this.reason = reason;
    }

    /** A problem with a whole file (unreadable), not one line. */
    public DataException(String message, Throwable cause) {
        super(message, cause);
        this.file = null;
        this.line = 0;
        this.reason = null;
    }

    /** A data file that could not be read, said plainly (not as the name of a Java exception). */
    static DataException unreadable(Path file, IOException e) {
        if (e instanceof NoSuchFileException) return new DataException("no such file: " + file, e);
        String why = e instanceof AccessDeniedException ? "permission denied"
                : Files.isDirectory(file) ? "is a directory, expected a JSONL file"
                : "could not be read: " + e.getMessage();
        return new DataException(file + ": " + why, e);
    }

    public Path file() {
        return file;
    }

    /** 1-based line number, or 0 for a problem with the whole file. */
    public long line() {
        return line;
    }

    /** The kind of problem, or null for a problem with the whole file. */
    public Reason reason() {
        return reason;
    }
}
