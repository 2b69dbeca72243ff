package linlens.linear;

import linlens.blas.Arith;

/** Arithmetic of the linear system. The forward pass that fixes the frozen factors is always fp64. */
public enum Precision {
    FP32(Arith.F32, Float.BYTES, 1e-5), FP64(Arith.F64, Double.BYTES, 1e-12);

    private final Arith<?> arith;
    private final int bytesPerValue;
    private final double reconstructionBound;

    Precision(Arith<?> arith, int bytesPerValue, double reconstructionBound) {
        this.arith = arith;
        this.bytesPerValue = bytesPerValue;
        this.reconstructionBound = reconstructionBound;
    }

    /**
     * The relative error |Σ J_i x_i + c − y| / |y| that rounding alone stays under: the bound the
     * tests hold every model to (fp32: about 10² ulps of a long sum; fp64: its 10⁴ ulps). Above
     * it the system is not the model's (a wrong freeze, a wrong family rule).
     */
    public double reconstructionBound() { return reconstructionBound; }

    /**
     * The arithmetic of this precision. Generic code takes it as is: a call
     * {@code run(..., precision.arith())} to a method {@code <A> run(..., Arith<A> ar)} binds A to
     * float[] or double[], with no branch on the precision.
     */
    public Arith<?> arith() { return arith; }

    /** Bytes of one stored value: 4 for fp32, 8 for fp64. */
    public int bytesPerValue() { return bytesPerValue; }

    /** The precision an arithmetic computes in. */
    public static Precision of(Arith<?> arith) {
        for (Precision p : values()) if (p.arith == arith) return p;
        throw new IllegalArgumentException("no precision computes in " + arith.name());
    }

    public String label() { return name().toLowerCase(); }
}
