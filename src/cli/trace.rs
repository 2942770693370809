// PLACEHOLDER: replaced by the helper that owns this subcommand.
#[derive(clap::Subcommand)]
pub enum TraceCommand { Placeholder }
pub fn run(_command: TraceCommand) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
