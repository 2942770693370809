// PLACEHOLDER: replaced by the helper that owns this subcommand.
#[derive(clap::Args)]
pub struct SimulateArgs {}
pub fn run(_args: SimulateArgs) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
