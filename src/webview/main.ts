/** Entry of the dashboard webview bundle (dist/webview.js, with its styles in dist/webview.css). */
import 'uplot/dist/uPlot.min.css';
import '../../media/dashboard.css';
import '../../media/sweep.css';
import { DashboardApp } from './app';
import { SweepApp } from './sweepApp';

const root = document.getElementById('app');
// The page says which view it is (dashboardHtml's `app`): a run dashboard, or the Sweep view of a sweep folder.
if (root?.dataset.app === 'sweep') new SweepApp(root);
else if (root) new DashboardApp(root);
