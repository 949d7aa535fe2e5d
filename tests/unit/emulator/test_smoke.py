def test_fixture_gives_seeded_state(azure_emulator):
    rg = azure_emulator.get_resource(f"/subscriptions/{azure_emulator.subscription_id}/resourceGroups/rg-k8s")
    assert rg["location"] == "westeurope"
