// PLACEHOLDER: replaced by the helper that owns this subcommand.
#[derive(clap::Args)]
pub struct RecnmpArgs {}
pub fn run(_args: RecnmpArgs) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
