package dev.fullshard.train;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/** The loss (training and evaluation) and learning-rate curves of a run, drawn into a PNG with Java2D. */
public final class LossPlot {
    static final int WIDTH = 960, HEIGHT = 640, MARGIN = 70;

    private LossPlot() {
    }

    public static void write(Path file, List<MetricsLog.Point> train, List<MetricsLog.EvalPoint> eval) throws IOException {
        BufferedImage image = canvas();
        Graphics2D g = graphics(image);
        long maxStep = Math.max(1, Math.max(train.isEmpty() ? 0 : train.getLast().step(), eval.isEmpty() ? 0 : eval.getLast().step()));
        int half = (HEIGHT - 3 * MARGIN / 2) / 2;
        double lossMax = Math.max(max(train, MetricsLog.Point::loss), max(eval, MetricsLog.EvalPoint::loss));
        double lossMin = Math.min(min(train, MetricsLog.Point::loss), min(eval, MetricsLog.EvalPoint::loss));
        Panel loss = new Panel(MARGIN / 2, half, maxStep, lossMin, lossMax, "loss", "step");
        loss.axes(g);
        loss.line(g, train, MetricsLog.Point::step, MetricsLog.Point::loss, new Color(31, 119, 180));
        loss.line(g, eval, MetricsLog.EvalPoint::step, MetricsLog.EvalPoint::loss, new Color(214, 39, 40));
        g.setColor(new Color(31, 119, 180));
        g.drawString("train loss", WIDTH - 220, MARGIN / 2 + 18);
        g.setColor(new Color(214, 39, 40));
        g.drawString("eval loss", WIDTH - 120, MARGIN / 2 + 18);
        Panel lr = new Panel(MARGIN + half, half, maxStep, 0, max(train, MetricsLog.Point::lr), "learning rate", "step");
        lr.axes(g);
        lr.line(g, train, MetricsLog.Point::step, MetricsLog.Point::lr, new Color(44, 160, 44));
        g.dispose();
        writePng(image, file);
    }

    /** A plot's image: no display is needed. */
    static BufferedImage canvas() {
        System.setProperty("java.awt.headless", "true");
        return new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
    }

    /** Drawing on {@code image}: white, antialiased, in the plots' font. */
    static Graphics2D graphics(BufferedImage image) {
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, WIDTH, HEIGHT);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        return g;
    }

    static void writePng(BufferedImage image, Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        ImageIO.write(image, "png", tmp.toFile());
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static <T> double max(List<T> points, ToDoubleFunction<T> value) {
        return points.stream().mapToDouble(value).filter(Double::isFinite).max().orElse(1);
    }

    private static <T> double min(List<T> points, ToDoubleFunction<T> value) {
        return points.stream().mapToDouble(value).filter(Double::isFinite).min().orElse(0);
    }

    /** One plot area: steps (or {@code xLabel}; empty: no label at the axis's end) across, values up. */
    record Panel(int top, int height, double maxStep, double low, double high, String title, String xLabel) {
        int x(double step) {
            return MARGIN + (int) Math.round((WIDTH - 2 * MARGIN) * step / maxStep);
        }

        int y(double value) {
            double span = high > low ? high - low : 1;
            return top + height - (int) Math.round(height * (value - low) / span);
        }

        void axes(Graphics2D g) {
            g.setColor(Color.GRAY);
            g.drawRect(MARGIN, top, WIDTH - 2 * MARGIN, height);
            g.setColor(Color.BLACK);
            g.drawString(title, MARGIN, top - 6);
            g.drawString(String.format(Locale.ROOT, "%.3g", high), 8, top + 12);
            g.drawString(String.format(Locale.ROOT, "%.3g", low), 8, top + height);
            if (!xLabel.isEmpty()) g.drawString(xLabel + " " + (long) maxStep, WIDTH - MARGIN - 60, top + height + 16);
        }

        /** A dot at each point, and its x value under the axis: for a few measured points rather than a curve. */
        <T> void marks(Graphics2D g, List<T> points, ToDoubleFunction<T> step, ToDoubleFunction<T> value, Color color) {
            for (T p : points) {
                double v = value.applyAsDouble(p);
                if (!Double.isFinite(v)) continue;
                int x = x(step.applyAsDouble(p));
                g.setColor(color);
                g.fillOval(x - 4, y(v) - 4, 8, 8);
                g.setColor(Color.BLACK);
                g.drawString(String.format(Locale.ROOT, "%.0f", step.applyAsDouble(p)), x - 4, top + height + 16);
            }
        }

        <T> void line(Graphics2D g, List<T> points, ToDoubleFunction<T> step, ToDoubleFunction<T> value, Color color) {
            g.setColor(color);
            g.setStroke(new BasicStroke(2f));
            int[] previous = null;
            for (T p : points) {
                double v = value.applyAsDouble(p);
                if (!Double.isFinite(v)) continue;
                int[] here = {x(step.applyAsDouble(p)), y(v)};
                if (previous != null) g.drawLine(previous[0], previous[1], here[0], here[1]);
                else g.fillOval(here[0] - 2, here[1] - 2, 4, 4);
                previous = here;
            }
        }
    }
}
