package dev.fullshard.train;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * What a person watching the run sees: on a terminal, one status line redrawn in place (a bar with
 * step, loss, learning rate, gradient norm and tokens/s); otherwise (a log file, CI, the launcher),
 * a plain line every {@code logging_steps} steps.
 */
public final class Progress {
    private static final int BAR = 24;

    private final PrintWriter out;
    private final boolean terminal;
    private final long totalSteps;
    private final int loggingSteps;
    private boolean lineOpen;

    public Progress(PrintWriter out, boolean terminal, long totalSteps, int loggingSteps) {
        this.out = out;
        this.terminal = terminal;
        this.totalSteps = totalSteps;
        this.loggingSteps = Math.max(1, loggingSteps);
    }

    /** Whether standard output is a terminal a status line can be redrawn on. */
    public static boolean isTerminal() {
        return System.console() != null && System.console().isTerminal();
    }

    public void step(long step, double loss, double lr, double gradNorm, double tokensPerSecond) {
        String numbers = String.format(Locale.ROOT, "step %d/%d  loss %.4f  lr %.3e  grad_norm %.3f  %.0f tok/s",
                step, totalSteps, loss, lr, gradNorm, tokensPerSecond);
        if (terminal) {
            int filled = (int) (BAR * step / Math.max(1, totalSteps));
            out.print("\r[" + "#".repeat(filled) + " ".repeat(BAR - filled) + "] " + numbers + "\u001b[K");
            out.flush();
            lineOpen = true;
            if (step % loggingSteps == 0 || step == totalSteps) newLine();
        } else if (step % loggingSteps == 0 || step == totalSteps) {
            out.println(numbers);
        }
    }

    /** A message on a line of its own (evaluations, checkpoints, warnings). */
    public void message(String text) {
        newLine();
        out.println(text);
    }

    private void newLine() {
        if (lineOpen) {
            out.println();
            lineOpen = false;
        }
    }
}
