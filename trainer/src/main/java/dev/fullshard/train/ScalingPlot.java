package dev.fullshard.train;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The weak-scaling picture of {@code fullshard bench --sweep-world}: total tokens/s against world size
 * beside perfect scaling from the smallest world, and below it the scaling efficiency and the share of
 * the step spent waiting for communication, so that where communication starts to dominate shows at a glance.
 */
public final class ScalingPlot {
    /** One world size's figures; {@code efficiency} and {@code communicationShare} as fractions. */
    public record Point(int world, double tokensPerSecond, double efficiency, double communicationShare) {
    }

    private ScalingPlot() {
    }

    public static void write(Path file, List<Point> points) throws IOException {
        int width = LossPlot.WIDTH, height = LossPlot.HEIGHT, margin = LossPlot.MARGIN;
        BufferedImage image = LossPlot.canvas();
        Graphics2D g = LossPlot.graphics(image);
        int half = (height - 3 * margin / 2) / 2;
        Point first = points.getFirst();
        double maxWorld = points.getLast().world();
        double perRank = first.tokensPerSecond() / first.world();
        List<Point> ideal = points.stream().map(p -> new Point(p.world(), perRank * p.world(), 1, 0)).toList();
        double top = Math.max(ideal.getLast().tokensPerSecond(), points.stream().mapToDouble(Point::tokensPerSecond).max().orElse(1));
        LossPlot.Panel throughput = new LossPlot.Panel(margin / 2, half, maxWorld, 0, top, "tokens/s of all ranks, by world size", "");
        throughput.axes(g);
        throughput.line(g, ideal, Point::world, Point::tokensPerSecond, Color.LIGHT_GRAY);
        throughput.line(g, points, Point::world, Point::tokensPerSecond, new Color(31, 119, 180));
        throughput.marks(g, points, Point::world, Point::tokensPerSecond, new Color(31, 119, 180));
        legend(g, width - 330, margin / 2 + 18, "measured", new Color(31, 119, 180), "perfect scaling", Color.GRAY);
        LossPlot.Panel shares = new LossPlot.Panel(margin + half, half, maxWorld, 0, 100, "% : scaling efficiency and exposed communication, by world size", "");
        shares.axes(g);
        shares.line(g, points, Point::world, p -> 100 * p.efficiency(), new Color(44, 160, 44));
        shares.line(g, points, Point::world, p -> 100 * p.communicationShare(), new Color(214, 39, 40));
        shares.marks(g, points, Point::world, p -> 100 * p.efficiency(), new Color(44, 160, 44));
        shares.marks(g, points, Point::world, p -> 100 * p.communicationShare(), new Color(214, 39, 40));
        legend(g, width - 330, margin + half + 18, "efficiency", new Color(44, 160, 44), "communication share", new Color(214, 39, 40));
        g.dispose();
        LossPlot.writePng(image, file);
    }

    private static void legend(Graphics2D g, int x, int y, String first, Color firstColor, String second, Color secondColor) {
        g.setColor(firstColor);
        g.drawString(first, x, y);
        g.setColor(secondColor);
        g.drawString(second, x + 110, y);
    }
}
