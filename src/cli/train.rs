// PLACEHOLDER: replaced by the helper that owns this subcommand.
#[derive(clap::Args)]
pub struct TrainArgs {}
pub fn run(_args: TrainArgs) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
