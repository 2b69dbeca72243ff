package linlens.linear;

import linlens.blas.Arith;

/** Arithmetic of the linear system. The forward pass that fixes the frozen factors is always fp64. */
public enum Precision {
    FP32(Arith.F32), FP64(Arith.F64);

    public final Arith<?> arith;

    Precision(Arith<?> arith) { this.arith = arith; }

    public String label() { return name().toLowerCase(); }
}
