import { DniOptionError } from "./errors.js";
import { blockCount, type NetSpec } from "./net.js";

/**
 * How the layers below the loss get their learning signal:
 * - "backprop": the true gradient, by TensorFlow.js autodiff through the whole net;
 * - "sg": synthetic-gradient modules at the boundaries `sgAt` (decoupled neural interfaces);
 * - "fa": feedback alignment (Lillicrap et al.): backprop with a fixed random matrix in place of
 *   each W^T in the backward pass;
 * - "dfa": direct feedback alignment (Nokland): the output error e projected by a fixed random
 *   matrix straight to each hidden block, dy_i = e D_i.
 */
export type Method = "backprop" | "sg" | "fa" | "dfa";
export const METHODS: readonly Method[] = ["backprop", "sg", "fa", "dfa"];

/** What an SG module regresses onto: the gradient from the layer above computed with that layer's own SG (Jaderberg et al.'s bootstrapping) or the true backprop gradient. */
export type SgTarget = "bootstrap" | "true";

/** Where SG modules go: "middle" (one module), "every" (fully unlocked), "output" (on the model's output). */
export type SgPlacement = "middle" | "every" | "output";
export const SG_PLACEMENTS: readonly SgPlacement[] = ["middle", "every", "output"];

export function sgBoundaries(net: NetSpec, placement: SgPlacement): number[] {
  const blocks = blockCount(net);
  switch (placement) {
    case "output":
      return [blocks];
    case "middle":
      if (blocks < 2) throw new DniOptionError("sgPlacement", placement, `"output" for a net of one block`);
      return [Math.floor(blocks / 2)];
    case "every":
      if (blocks < 2) throw new DniOptionError("sgPlacement", placement, `"output" for a net of one block`);
      return Array.from({ length: blocks - 1 }, (_, i) => i + 1);
  }
}
