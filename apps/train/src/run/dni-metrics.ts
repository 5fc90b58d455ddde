/** The metrics `sgprop train dni` shows live, summarises and plots (all experiments share one set). */
export const dniHeadlineMetrics: { live: string[]; plotted: string[]; primary: string } = {
  live: [
    "critical/sg_loss",
    "table2/sg_gap",
    "surface/loss_both",
    "losses/loss",
    "losses/sg_loss",
    "eval/test_accuracy",
  ],
  plotted: ["losses/loss", "losses/sg_loss", "eval/test_accuracy", "eval/test_loss"],
  primary: "losses/loss",
};
