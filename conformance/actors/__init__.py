"""Who the suites send as: throwaway accounts, tokens (good and forged), canaries, weak secrets."""
