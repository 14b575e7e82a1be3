// The Phobos web UI: a single-page app served by `phobos` at `/`. Nothing
// it loads comes from anywhere but the server's own origin.
import "./style.css";
import { createRoot } from "react-dom/client";
import { App } from "./App";

createRoot(document.getElementById("app")!).render(<App />);
