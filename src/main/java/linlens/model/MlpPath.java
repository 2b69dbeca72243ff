package linlens.model;

/**
 * Which branch of a gated MLP {@code down(act(gate(x)) ⊙ up(x))} stays linear once detached.
 * UP freezes the whole {@code act(gate(x))}; GATE writes {@code act(g) = g·φ(g)} and freezes
 * {@code φ(g)} and {@code up(x)}. Both reproduce the output exactly; they give different J.
 */
public enum MlpPath { UP, GATE }
