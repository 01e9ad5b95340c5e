package dev.fullshard.shard;

import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelUnits;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where every parameter element lives when the model is split over {@code shards} ranks.
 *
 * <p><b>Flat-buffer sharding, per unit.</b> A unit's parameters (in Hugging Face order) are laid end to
 * end in one flat buffer of {@code numel} elements, padded with zeros to {@code shards × shardNumel};
 * rank r holds elements [r·shardNumel, (r+1)·shardNumel). We chose this over per-parameter dim-0
 * sharding (FSDP2's DTensor) because on both MPI and NCCL a unit then costs exactly one all-gather
 * and one reduce-scatter, straight into and out of the buffer the model reads its weights from
 * (each parameter is a view into the gathered buffer), with no copy-in/copy-out interleaving and
 * padding only at the unit's end (at most shards − 1 elements per unit, instead of per parameter). The
 * price: a parameter may be split across ranks mid-row, so per-parameter work on the shard (AdamW's
 * weight-decay groups, checkpoints) goes through {@link Piece}s, the parts of parameters a rank holds.
 *
 * <p>{@code shards == 1} is the replicated layout (no_shard, or one rank): every rank holds everything.
 */
public record ShardLayout(int shards, List<Unit> units) {
    /** A parameter's place in its unit's flat buffer. */
    public record Param(String name, long[] shape, long offset, long numel) {
    }

    /** One unit: its parameters, their total element count and the (padded) elements each rank holds. */
    public record Unit(int index, List<Param> params, long numel, long shardNumel) {
        public long paddedNumel(int shards) {
            return shardNumel * shards;
        }
    }

    /**
     * The part of parameter {@code name} that one rank holds: elements [paramStart, paramStart + length) of
     * the parameter (flattened), at [shardOffset, shardOffset + length) of the rank's shard of the unit.
     */
    public record Piece(String name, int unit, long paramStart, long length, long shardOffset) {
    }

    public static ShardLayout of(ModelConfig config, int shards) {
        if (shards < 1) throw new IllegalArgumentException("shards must be at least 1, got " + shards);
        List<Unit> units = new ArrayList<>();
        List<Map<String, long[]>> shapes = ModelUnits.shapes(config);
        for (int u = 0; u < shapes.size(); u++) {
            List<Param> params = new ArrayList<>();
            long offset = 0;
            for (var e : shapes.get(u).entrySet()) {
                long n = 1;
                for (long s : e.getValue()) n = Math.multiplyExact(n, s);
                params.add(new Param(e.getKey(), e.getValue(), offset, n));
                offset += n;
            }
            units.add(new Unit(u, List.copyOf(params), offset, (offset + shards - 1) / shards));
        }
        return new ShardLayout(shards, List.copyOf(units));
    }

    public Unit unit(int index) {
        return units.get(index);
    }

    /** The pieces rank {@code rank} holds of unit {@code unit}, in parameter order (none of the padding). */
    public List<Piece> pieces(int unit, int rank) {
        if (rank < 0 || rank >= shards) throw new IllegalArgumentException("rank " + rank + " out of range for " + shards + " shards");
        Unit u = units.get(unit);
        long from = rank * u.shardNumel(), to = from + u.shardNumel();
        List<Piece> out = new ArrayList<>();
        for (Param p : u.params()) {
            long start = Math.max(from, p.offset()), end = Math.min(to, p.offset() + p.numel());
            if (start < end) out.add(new Piece(p.name(), unit, start - p.offset(), end - start, start - from));
        }
        return out;
    }

    /** Every piece of every unit rank {@code rank} holds, unit by unit. */
    public List<Piece> pieces(int rank) {
        List<Piece> out = new ArrayList<>();
        for (Unit u : units) out.addAll(pieces(u.index(), rank));
        return out;
    }

    /** Elements of all units' shards one rank holds, padding included. */
    public long shardNumel() {
        long n = 0;
        for (Unit u : units) n += u.shardNumel();
        return n;
    }

    /** Parameter elements of the whole model. */
    public long numel() {
        long n = 0;
        for (Unit u : units) n += u.numel();
        return n;
    }
}
